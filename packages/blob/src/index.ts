export { type BlobConnector, createBlobConnector } from './blob-connector.js';
export type { BlobConnectorOptions } from './blob-options.js';
