import { describeTokenProviderConformance } from '../src/index.js';

// One backend × host per file: MSAL (under @azure/identity) keeps process-wide state.
describeTokenProviderConformance({ backend: 'azure-identity', protocol: 'workload-identity' });
