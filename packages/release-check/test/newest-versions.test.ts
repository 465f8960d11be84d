import { describeVersionSets } from './support/version-sets.ts';

// Every peer at the newest version its range allows, on the newest Node engines.node allows.
await describeVersionSets('newest');
