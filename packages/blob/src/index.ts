export { type BlobConnector, createBlobConnector } from './blob-connector.js';
export type { BlobClientOptions, BlobConnectorOptions } from './blob-options.js';
