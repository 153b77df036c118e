/**
 * The Jupyter wire protocol: frames <-> messages, with HMAC signatures checked on every message
 * that arrives. tslab compares signatures with `==` (not constant-time) and signs buffers that
 * the spec leaves out; this module follows the spec
 * (https://jupyter-client.readthedocs.io/en/latest/messaging.html#the-wire-protocol).
 */
import { createHmac, randomUUID, timingSafeEqual, getHashes } from 'node:crypto';
import { userInfo } from 'node:os';

/** The protocol version this kernel speaks. */
export const PROTOCOL_VERSION = '5.3';

const DELIMITER = Buffer.from('<IDS|MSG>');

/** A message header. */
export interface Header {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

/** One decoded message. Content is JSON from a peer: read it defensively. */
export interface Message {
  /** ZeroMQ routing prefix: copied onto replies so that the router finds the sender. */
  identities: Buffer[];
  header: Header;
  parent_header: Partial<Header>;
  metadata: Record<string, unknown>;
  content: Record<string, unknown>;
  buffers: Buffer[];
}

/** A message that failed its signature check or was not a Jupyter message at all. */
export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireError';
  }
}

/** Signs and verifies with the connection file's key and scheme. */
export class Signer {
  private readonly algorithm: string | null;

  /** An empty key disables signing (the spec's "authentication disabled"). */
  constructor(
    private readonly key: string,
    scheme = 'hmac-sha256',
  ) {
    if (key === '') {
      this.algorithm = null;
      return;
    }
    const match = /^hmac-(.+)$/.exec(scheme);
    if (!match || !getHashes().includes(match[1])) {
      throw new Error(`connection file: signature_scheme "${scheme}" is not supported; use hmac-sha256`);
    }
    this.algorithm = match[1];
  }

  /** False when the connection file disabled signing. */
  get enabled(): boolean {
    return this.algorithm !== null;
  }

  /** The hex signature of header, parent header, metadata and content (buffers are not signed). */
  sign(parts: readonly (string | Buffer)[]): string {
    if (this.algorithm === null) return '';
    const hmac = createHmac(this.algorithm, this.key);
    for (const part of parts) hmac.update(part);
    return hmac.digest('hex');
  }

  /** True when `signature` is right for `parts`, compared in constant time. */
  verify(signature: string, parts: readonly (string | Buffer)[]): boolean {
    if (this.algorithm === null) return true;
    const expected = Buffer.from(this.sign(parts), 'utf8');
    const given = Buffer.from(signature, 'utf8');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

/** Decodes the frames of one message; throws WireError when the signature is wrong or a part is missing. */
export function decode(frames: readonly Buffer[], signer: Signer): Message {
  const at = frames.findIndex((f) => f.equals(DELIMITER));
  if (at < 0) throw new WireError('message without the <IDS|MSG> delimiter');
  const signature = frames[at + 1]?.toString('utf8') ?? '';
  const parts = frames.slice(at + 2, at + 6);
  if (parts.length < 4) throw new WireError(`message with ${parts.length} of its 4 parts`);
  // Verify before parsing: nothing from an unauthenticated peer is interpreted.
  if (!signer.verify(signature, parts)) throw new WireError('message with an invalid HMAC signature');
  const json = (part: Buffer, name: string): Record<string, unknown> => {
    try {
      const value: unknown = JSON.parse(part.toString('utf8'));
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // reported below
    }
    throw new WireError(`message whose ${name} is not a JSON object`);
  };
  const header = json(parts[0], 'header') as unknown as Header;
  if (typeof header.msg_type !== 'string') throw new WireError('message header without msg_type');
  return {
    identities: frames.slice(0, at),
    header,
    parent_header: json(parts[1], 'parent header') as Partial<Header>,
    metadata: json(parts[2], 'metadata'),
    content: json(parts[3], 'content'),
    buffers: frames.slice(at + 6),
  };
}

/** Encodes and signs a message as frames. */
export function encode(message: Message, signer: Signer): Buffer[] {
  const parts = [message.header, message.parent_header, message.metadata, message.content].map((p) =>
    Buffer.from(JSON.stringify(p), 'utf8'),
  );
  return [...message.identities, DELIMITER, Buffer.from(signer.sign(parts), 'utf8'), ...parts, ...message.buffers];
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'kernel';
  }
}

/** Makes messages for one kernel session (the session id is the kernel's, not the client's). */
export class MessageFactory {
  readonly session = randomUUID();
  private readonly username = currentUser();

  /** A message of `msgType` in reply to `parent` (or unprompted, with parent null). */
  create(
    msgType: string,
    content: Record<string, unknown>,
    parent: Message | null,
    identities: Buffer[] = [],
  ): Message {
    return {
      identities,
      header: {
        msg_id: randomUUID(),
        session: this.session,
        username: this.username,
        date: new Date().toISOString(),
        msg_type: msgType,
        version: PROTOCOL_VERSION,
      },
      parent_header: parent ? parent.header : {},
      metadata: {},
      content,
      buffers: [],
    };
  }

  /** The reply to a request on shell or control: routed back to the sender. */
  reply(request: Message, msgType: string, content: Record<string, unknown>): Message {
    return this.create(msgType, content, request, request.identities);
  }
}
