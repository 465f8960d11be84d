import { describeTokenProviderConformance } from '../src/index.js';

// One backend × host per file: MSAL pins the detected source for the life of the process.
describeTokenProviderConformance({ backend: 'msal', protocol: 'workload-identity' });
