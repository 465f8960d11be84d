import { RespCommandScanner, type ScannedCommand } from './resp-command-scanner.js';
import { ReplyType, RespReplyScanner, type ScannedReply } from './resp-reply-scanner.js';

/** What the tracker asks the launcher about a password a connection authenticated with. */
export interface PasswordJudge {
  /** When the password stops being valid (ms since the epoch): a token's `exp`; undefined for a lasting password. */
  expiryOf(user: string, password: string): number | undefined;
  /** Whether Redis accepts the password for the user now (only used once replies can no longer be followed). */
  accepts(user: string, password: string): boolean;
}

/** What a reply will settle. */
type Expectation =
  /** `count` commands in a row whose replies change nothing (most of them: one entry, counted down). */
  | { kind: 'plain'; count: number }
  | { kind: 'auth'; user: string; password: string }
  | { kind: 'hello'; protocol: 2 | 3 | undefined; user: string | undefined; password: string }
  | { kind: 'multi' | 'exec' | 'discard' | 'reset' | 'monitor' }
  /** A (un)subscribe command: its confirmations arrive out of band (RESP3 pushes, RESP2 arrays). */
  | { kind: 'pubsub'; confirmations: number | 'at-least-one'; received: number };

/**
 * What `expectationOf` answers for a command whose reply changes nothing. Shared, never queued
 * itself (its count is not to be changed): the queue gets a run-length entry instead.
 */
const plainCommand: Expectation = Object.freeze({ kind: 'plain', count: 1 });
const subscribeCommands = new Set(['subscribe', 'psubscribe', 'ssubscribe']);
const unsubscribeCommands = new Set(['unsubscribe', 'punsubscribe', 'sunsubscribe']);
const confirmationKinds = new Set([...subscribeCommands, ...unsubscribeCommands]);
const messageKinds = new Set(['message', 'pmessage', 'smessage']);
const commandsWithTrackedArguments = new Set(['auth', 'hello', 'client']);

/**
 * Follows one connection's conversation to know which password it is authenticated with now, and
 * so when that password (a token) expires. Commands are paired with replies in order, as Redis
 * answers them: `AUTH` and `HELLO … AUTH` count once Redis said yes; inside `MULTI` they count
 * only if `EXEC` ran them; `RESET` forgets the user; RESP2 subscriber mode (where Redis refuses
 * `AUTH`) and RESP3 pushes are told apart from replies. After `MONITOR` or `CLIENT REPLY OFF|SKIP`
 * replies can no longer be paired, so an `AUTH` counts when the launcher knows the password is
 * valid, which is what Redis decides too.
 */
export class AuthenticationTracker {
  readonly #commands: RespCommandScanner;
  readonly #replies: RespReplyScanner;
  readonly #judge: PasswordJudge;
  readonly #onExpiryChanged: (expiresAtMs: number | undefined) => void;
  readonly #expected: Expectation[] = [];
  #protocol: 2 | 3 = 2;
  /** RESP2 subscriber mode, as the server's confirmations tell (their third element is the count). */
  #subscribed = false;
  /** Commands Redis answered QUEUED since MULTI; undefined outside a transaction. */
  #queued: Expectation[] | undefined;
  #pairingReplies = true;
  #commandsUnreadable = false;
  #expiresAtMs: number | undefined;

  constructor(judge: PasswordJudge, onExpiryChanged: (expiresAtMs: number | undefined) => void) {
    this.#judge = judge;
    this.#onExpiryChanged = onExpiryChanged;
    this.#commands = new RespCommandScanner(
      (name) => commandsWithTrackedArguments.has(name),
      (command) => this.#command(command),
    );
    this.#replies = new RespReplyScanner(
      () => this.#expected[0]?.kind === 'exec' && (this.#queued?.length ?? 0) > 0,
      (reply) => this.#reply(reply),
    );
  }

  /** When the password this connection is authenticated with expires, if it does. */
  get expiresAtMs(): number | undefined {
    return this.#expiresAtMs;
  }

  /** Whether replies are still paired with commands (false after MONITOR, CLIENT REPLY, garbage). */
  get pairingReplies(): boolean {
    return this.#pairingReplies;
  }

  fromClient(chunk: Buffer): void {
    if (this.#commandsUnreadable) return;
    try {
      this.#commands.push(chunk);
    } catch {
      // Bytes Redis refuses too (it answers with a protocol error and closes the connection).
      this.#commandsUnreadable = true;
      this.#stopPairing();
    }
  }

  fromServer(chunk: Buffer): void {
    if (!this.#pairingReplies) return;
    try {
      this.#replies.push(chunk);
    } catch {
      this.#stopPairing();
    }
  }

  #stopPairing(): void {
    this.#pairingReplies = false;
    this.#expected.length = 0;
    this.#queued = undefined;
  }

  #command(command: ScannedCommand): void {
    const expectation = expectationOf(command);
    if (!this.#pairingReplies) {
      this.#predict(expectation);
      return;
    }
    if (command.name === 'client' && isReplySuppression(command.arguments)) {
      // Replies stop matching commands one to one.
      this.#stopPairing();
      return;
    }
    if (expectation.kind === 'plain') {
      const last = this.#expected.at(-1);
      if (last?.kind === 'plain') last.count += 1;
      else this.#expected.push({ kind: 'plain', count: 1 });
    } else this.#expected.push(expectation);
  }

  /** Without replies to go by: an AUTH counts when its password is valid for the user now. */
  #predict(expectation: Expectation): void {
    if (expectation.kind === 'reset') this.#authenticated(undefined);
    if ((expectation.kind === 'auth' || expectation.kind === 'hello') && expectation.user !== undefined) {
      if (this.#judge.accepts(expectation.user, expectation.password))
        this.#authenticated({ user: expectation.user, password: expectation.password });
    }
  }

  #reply(reply: ScannedReply): void {
    if (reply.type === ReplyType.push) {
      this.#confirmation(reply);
      return;
    }
    const head = this.#expected[0];
    const pubsubShaped = reply.type === ReplyType.array && reply.first !== undefined;
    if (
      this.#protocol === 2 &&
      pubsubShaped &&
      (confirmationKinds.has(reply.first as string) || messageKinds.has(reply.first as string)) &&
      (this.#subscribed || head?.kind === 'pubsub')
    ) {
      this.#confirmation(reply);
      return;
    }
    if (head === undefined) {
      this.#stopPairing();
      return;
    }
    if (head.kind === 'plain') {
      // The common case, kept cheap: one reply less to wait for.
      if (head.count > 1) head.count -= 1;
      else this.#expected.shift();
      if (this.#queued !== undefined && !reply.isError) this.#queued.push(plainCommand);
      return;
    }
    const expectation = this.#expected.shift() as Expectation;
    if (expectation.kind === 'pubsub') {
      // Its own refusal (wrong arity, NOPERM, inside MULTI); anything else means we lost track.
      if (!(reply.isError && expectation.received === 0)) this.#stopPairing();
      return;
    }
    this.#settle(expectation, reply);
  }

  /** A pub/sub confirmation or message, outside the reply order. */
  #confirmation(reply: ScannedReply): void {
    if (reply.first === undefined || !confirmationKinds.has(reply.first)) return;
    if (reply.third !== undefined) this.#subscribed = reply.third > 0;
    const head = this.#expected[0];
    if (head?.kind !== 'pubsub') return;
    head.received += 1;
    if (head.confirmations === 'at-least-one' || head.received >= head.confirmations) this.#expected.shift();
  }

  #settle(expectation: Expectation, reply: ScannedReply): void {
    const succeeded = !reply.isError;
    const queued = this.#queued;
    if (expectation.kind === 'exec') {
      this.#queued = undefined;
      if (queued === undefined || !succeeded || reply.isNull) return;
      queued.forEach((command, index) => {
        if (reply.elementErrors?.[index] === false) this.#apply(command);
      });
      return;
    }
    if (expectation.kind === 'discard') {
      if (succeeded) this.#queued = undefined;
      return;
    }
    if (queued !== undefined && expectation.kind !== 'multi') {
      if (succeeded) queued.push(expectation);
      return;
    }
    if (succeeded) this.#apply(expectation);
  }

  #apply(expectation: Expectation): void {
    switch (expectation.kind) {
      case 'multi':
        this.#queued = [];
        return;
      case 'auth':
        this.#authenticated(expectation);
        return;
      case 'hello':
        if (expectation.protocol !== undefined) this.#protocol = expectation.protocol;
        if (expectation.user !== undefined)
          this.#authenticated({ user: expectation.user, password: expectation.password });
        return;
      case 'reset':
        // RESET: RESP2, no subscriptions, no transaction, back to the `default` user (off here).
        this.#protocol = 2;
        this.#subscribed = false;
        this.#queued = undefined;
        this.#authenticated(undefined);
        return;
      case 'monitor':
        this.#stopPairing();
        return;
      default:
        return;
    }
  }

  #authenticated(login: { user: string; password: string } | undefined): void {
    const expiresAtMs = login === undefined ? undefined : this.#judge.expiryOf(login.user, login.password);
    if (expiresAtMs === this.#expiresAtMs) return;
    this.#expiresAtMs = expiresAtMs;
    this.#onExpiryChanged(expiresAtMs);
  }
}

function expectationOf(command: ScannedCommand): Expectation {
  const { name, argumentCount } = command;
  const args = command.arguments ?? [];
  if (name === 'auth') {
    if (argumentCount === 1) return { kind: 'auth', user: 'default', password: args[0] ?? '' };
    if (argumentCount === 2) return { kind: 'auth', user: args[0] ?? '', password: args[1] ?? '' };
    return plainCommand;
  }
  if (name === 'hello') return helloExpectation(args);
  if (name === 'multi' || name === 'exec' || name === 'discard' || name === 'reset' || name === 'monitor')
    return { kind: name };
  if (subscribeCommands.has(name))
    return argumentCount > 0 ? { kind: 'pubsub', confirmations: argumentCount, received: 0 } : plainCommand;
  if (unsubscribeCommands.has(name))
    return {
      kind: 'pubsub',
      confirmations: argumentCount > 0 ? argumentCount : 'at-least-one',
      received: 0,
    };
  return plainCommand;
}

/** `HELLO [protover [AUTH username password] [SETNAME clientname]]`. */
function helloExpectation(args: string[]): Expectation {
  const protocol = args[0] === '2' ? 2 : args[0] === '3' ? 3 : undefined;
  let user: string | undefined;
  let password = '';
  for (let index = 1; index < args.length; index += 1) {
    const option = args[index]?.toLowerCase();
    if (option === 'auth') {
      user = args[index + 1];
      password = args[index + 2] ?? '';
      index += 2;
    } else if (option === 'setname') index += 1;
  }
  return { kind: 'hello', protocol, user, password };
}

function isReplySuppression(args: string[] | undefined): boolean {
  const [subcommand, mode] = (args ?? []).map((arg) => arg.toLowerCase());
  return subcommand === 'reply' && (mode === 'off' || mode === 'skip');
}
