import { installRedactedViews } from '@keyless/core/internal';

/** node-redis's `BasicAuth` (packages/client/lib/authx/credentials-provider.ts). */
export interface BasicAuth {
  username?: string;
  password?: string;
}

/** node-redis's `StreamingCredentialsListener<BasicAuth>`: how the client takes new credentials. */
export interface StreamingCredentialsListener {
  onNext(credentials: BasicAuth): void;
  onError(error: Error): void;
}

/**
 * One client's credentials for node-redis v5, through its streaming-credentials interface
 * (`credentialsProvider: { type: 'streaming-credentials-provider', subscribe, onReAuthenticationError }`,
 * packages/client/lib/authx in github.com/redis/node-redis). node-redis calls `subscribe` in every
 * handshake (the first connect and each reconnect) and sends the credentials it resolves with in
 * `HELLO … AUTH` / `AUTH`; `onNext` later makes it send `AUTH` on the live connection.
 *
 * One provider per client, made by the connector: node-redis subscribes again at each reconnect
 * without disposing the previous subscription, so only the newest listener is kept — one `AUTH`
 * per connection per new token. The password itself lives in the connector's shared binding (the
 * single-flight cache of the token provider or the Key Vault secret source); nothing here prints it.
 */
export class KeylessStreamingCredentials {
  readonly type = 'streaming-credentials-provider' as const;
  readonly #handshake: () => Promise<BasicAuth>;
  readonly #reauthenticationError: (error: Error) => void;
  #listener: StreamingCredentialsListener | undefined;

  constructor(handshake: () => Promise<BasicAuth>, reauthenticationError: (error: Error) => void) {
    this.#handshake = handshake;
    this.#reauthenticationError = reauthenticationError;
    installRedactedViews(
      this,
      () => ({ type: this.type, subscribed: this.subscribed }),
      'KeylessStreamingCredentials',
    );
  }

  /** Whether a connection of the client listens for new credentials. */
  get subscribed(): boolean {
    return this.#listener !== undefined;
  }

  /** node-redis: credentials for the handshake now starting, and the subscription for new ones. */
  subscribe = async (listener: StreamingCredentialsListener): Promise<[BasicAuth, { dispose(): void }]> => {
    const credentials = await this.#handshake();
    this.#listener = listener;
    return [
      credentials,
      {
        dispose: () => {
          if (this.#listener === listener) this.#listener = undefined;
        },
      },
    ];
  };

  /** node-redis: an `AUTH` with new credentials failed (it reports the reply's message only). */
  onReAuthenticationError = (error: Error): void => {
    this.#reauthenticationError(error);
  };

  /** Hands new credentials to the live connection (node-redis sends `AUTH`); false when none listens. */
  push(credentials: BasicAuth): boolean {
    const listener = this.#listener;
    if (listener === undefined) return false;
    listener.onNext(credentials);
    return true;
  }

  /** The client is done: no further credentials go to it. */
  stop(): void {
    this.#listener = undefined;
  }
}
