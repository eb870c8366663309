/** Why a connection failed, beside the socket's own error code. */
export class UpstreamFailure extends Error {
  readonly code: 'BAD_RESPONSE' | 'DIAL_TIMEOUT' | 'CLOSED';
  constructor(code: UpstreamFailure['code'], message: string) {
    super(message);
    this.name = 'UpstreamFailure';
    this.code = code;
  }
}
