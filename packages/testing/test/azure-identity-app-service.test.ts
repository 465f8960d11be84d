import { describeTokenProviderConformance } from '../src/index.js';

// One backend × protocol per file: MSAL pins the detected protocol for the life of the process.
describeTokenProviderConformance({ backend: 'azure-identity', protocol: 'app-service' });
