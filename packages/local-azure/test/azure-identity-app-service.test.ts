import { describeAzureIdentityAgainstEndpoint } from './support/azure-identity-suite.js';

// One protocol per file: MSAL remembers the protocol for the life of the process.
describeAzureIdentityAgainstEndpoint('app-service');
