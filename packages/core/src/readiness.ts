/**
 * A connector's `ready()`, for readiness probes (App Service health check, Kubernetes
 * readinessProbe) that call it every few seconds. The first call runs the connector's `connect()`:
 * the full check — a token, the password or secret, one real connection or request. Once that has
 * succeeded, a call runs only `stillReady`, which looks at what the process holds (a cached token
 * or password, a client's state) and makes no request while those are valid, so probes do not load
 * the services. A failed check throws the connector's typed error (the probe answers "not ready")
 * and makes the next call run `connect()` again. Concurrent calls share one check.
 */
export class Readiness {
  readonly #connect: () => Promise<void>;
  readonly #stillReady: () => Promise<void>;
  #connected = false;
  #check: Promise<void> | undefined;

  constructor(connect: () => Promise<void>, stillReady: () => Promise<void>) {
    this.#connect = connect;
    this.#stillReady = stillReady;
  }

  check(): Promise<void> {
    this.#check ??= (this.#connected ? this.#stillReady() : this.#connect()).then(
      () => {
        this.#connected = true;
        this.#check = undefined;
      },
      (error: unknown) => {
        this.#connected = false;
        this.#check = undefined;
        throw error;
      },
    );
    return this.#check;
  }
}
