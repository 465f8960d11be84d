export { type BlobConnectOptions, type BlobConnector, createBlobConnector } from './blob-connector.js';
export type { BlobConnectorOptions, BlobPipelineOptions } from './blob-options.js';
