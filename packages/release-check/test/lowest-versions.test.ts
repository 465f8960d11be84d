import { describeVersionSets } from './support/version-sets.ts';

// Every peer at the lowest version its range allows (one set per further major of an `a || b`
// range), on the lowest Node engines.node allows.
await describeVersionSets('lowest');
