import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM files made for one test run; `remove()` deletes them (keys included). */
export interface TestCertificates {
  readonly dir: string;
  /** A private CA's certificate: what SIP_TLS_CA names. */
  readonly caFile: string;
  /** A certificate for 127.0.0.1 (IP SAN) and `localhost`, signed by the CA. */
  readonly certFile: string;
  readonly keyFile: string;
  /** A self-signed certificate for 127.0.0.1 that no CA vouches for. */
  readonly rogueCertFile: string;
  readonly rogueKeyFile: string;
  /** Signed by the CA, but for another name only (`pbx.invalid`). */
  readonly wrongNameCertFile: string;
  readonly wrongNameKeyFile: string;
  read(file: string): Buffer;
  remove(): void;
}

const openssl = (dir: string, ...args: string[]): void => {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
};

/**
 * Makes certificates with openssl in a fresh temporary folder at test time
 * (no key is ever kept in the repository): a CA, a leaf it signs for
 * 127.0.0.1, one it signs for another name, and a self-signed one. EC P-256
 * keys, one day of validity.
 */
export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'sip-tls-'));
  const key = (name: string): void => openssl(dir, 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`);
  key('ca');
  openssl(dir, 'req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=Payment IVR test CA', '-days', '1', '-out', 'ca.pem',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  const leaf = (name: string, san: string): void => {
    key(name);
    openssl(dir, 'req', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`);
    writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n`);
    openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1',
      '-extfile', `${name}.ext`, '-out', `${name}.pem`);
  };
  leaf('server', 'IP:127.0.0.1,DNS:localhost');
  leaf('wrong-name', 'DNS:pbx.invalid');
  key('rogue');
  openssl(dir, 'req', '-x509', '-new', '-key', 'rogue.key', '-subj', '/CN=rogue', '-days', '1', '-out', 'rogue.pem',
    '-addext', 'subjectAltName=IP:127.0.0.1');
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    certFile: join(dir, 'server.pem'),
    keyFile: join(dir, 'server.key'),
    rogueCertFile: join(dir, 'rogue.pem'),
    rogueKeyFile: join(dir, 'rogue.key'),
    wrongNameCertFile: join(dir, 'wrong-name.pem'),
    wrongNameKeyFile: join(dir, 'wrong-name.key'),
    read: (file) => readFileSync(file),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
