import { describeMsalNodeAgainstEndpoint } from './support/msal-node-suite.js';

// One protocol per file: MSAL remembers the protocol for the life of the process.
describeMsalNodeAgainstEndpoint('app-service');
