/**
 * Node's TLS errors as Python's `ssl` classes (src/streams/errors.ts). Kept apart from tls.ts,
 * which loads `node:tls`: every connection's error handler maps through here, and a plain one
 * should not pay for loading TLS.
 */
import { isIP } from 'node:net';
import { fromSystemError } from '../socket/errors.js';
import { SSLCertVerificationError, SSLError } from './errors.js';

/**
 * OpenSSL's X509_V_ERR_* numbers for the verify codes Node names (Python's `verify_code`).
 * Stable across OpenSSL versions: they are part of its ABI.
 */
const VERIFY_CODES: Readonly<Record<string, number>> = {
  UNABLE_TO_GET_ISSUER_CERT: 2,
  UNABLE_TO_GET_CRL: 3,
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: 4,
  UNABLE_TO_DECRYPT_CRL_SIGNATURE: 5,
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: 6,
  CERT_SIGNATURE_FAILURE: 7,
  CRL_SIGNATURE_FAILURE: 8,
  CERT_NOT_YET_VALID: 9,
  CERT_HAS_EXPIRED: 10,
  CRL_NOT_YET_VALID: 11,
  CRL_HAS_EXPIRED: 12,
  ERROR_IN_CERT_NOT_BEFORE_FIELD: 13,
  ERROR_IN_CERT_NOT_AFTER_FIELD: 14,
  ERROR_IN_CRL_LAST_UPDATE_FIELD: 15,
  ERROR_IN_CRL_NEXT_UPDATE_FIELD: 16,
  OUT_OF_MEM: 17,
  DEPTH_ZERO_SELF_SIGNED_CERT: 18,
  SELF_SIGNED_CERT_IN_CHAIN: 19,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 20,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 21,
  CERT_CHAIN_TOO_LONG: 22,
  CERT_REVOKED: 23,
  INVALID_CA: 24,
  PATH_LENGTH_EXCEEDED: 25,
  INVALID_PURPOSE: 26,
  CERT_UNTRUSTED: 27,
  CERT_REJECTED: 28,
  HOSTNAME_MISMATCH: 62,
  IP_ADDRESS_MISMATCH: 64,
};

/**
 * Node's TLS error as Python's class: a certificate that did not verify (Node names OpenSSL's
 * verify code, or ERR_TLS_CERT_ALTNAME_INVALID for the name) is `SSLCertVerificationError`,
 * an OpenSSL failure (ERR_SSL_*, ERR_OSSL_*) `SSLError`; anything else goes to
 * `fromSystemError` (a reset during the handshake is Node's ECONNRESET). `name` is the server
 * name that was checked.
 */
export function fromTlsError(err: unknown, name: string | null): unknown {
  if (!(err instanceof Error)) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code !== 'string') return err;
  const options = { cause: err };
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const ip = name !== null && isIP(name) !== 0;
    const text = `${ip ? 'IP address' : 'Hostname'} mismatch, certificate is not valid for '${name ?? ''}'.`;
    return new SSLCertVerificationError(
      `[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: ${text}`,
      ip ? 64 : 62,
      text,
      options,
    );
  }
  const verify = VERIFY_CODES[code];
  if (verify !== undefined) {
    // OpenSSL's text, as Python gives it (Node 24 appends advice after a semicolon).
    const text = err.message.split('; ')[0] as string;
    return new SSLCertVerificationError(
      `[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: ${text}`,
      verify,
      text,
      options,
    );
  }
  const ssl = /^ERR_(?:SSL|OSSL)_(.+)$/.exec(code);
  if (ssl !== null) {
    const reason = ssl[1] as string;
    const text = (err as { reason?: unknown }).reason;
    return new SSLError(
      `[SSL: ${reason}] ${typeof text === 'string' ? text : err.message}`,
      reason,
      'ERR_WEFT_SSL',
      options,
    );
  }
  return fromSystemError(err);
}
