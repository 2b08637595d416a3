/**
 * A throwaway PKI for one simulated cluster: a CA generated at start (the kubeconfig carries it) and a serving
 * certificate for 127.0.0.1 / localhost signed by it, as kubeadm does for a real apiserver. ECDSA P-256 keeps
 * start-up fast.
 */
import 'reflect-metadata';
import { webcrypto, randomBytes } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** PEM-encoded CA and serving pair. */
export interface ServingPki {
  caCertPem: string;
  certPem: string;
  keyPem: string;
}

/** Generates a CA and a server certificate valid for the given host names and IPs. */
export async function generateServingPki(options: { commonName: string; dnsNames?: string[]; ips?: string[] }): Promise<ServingPki> {
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 365 * 24 * 3600_000);
  const caKeys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex'),
    name: `CN=${options.commonName}-ca`,
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const serverKeys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const names = [
    ...(options.dnsNames ?? ['localhost', 'kubernetes', 'kubernetes.default']).map((value) => ({ type: 'dns' as const, value })),
    ...(options.ips ?? ['127.0.0.1']).map((value) => ({ type: 'ip' as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(8).toString('hex'),
    subject: `CN=${options.commonName}`,
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingKey: (caKeys).privateKey,
    publicKey: (serverKeys).publicKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(names, false),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', (serverKeys).privateKey);
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8).toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END PRIVATE KEY-----\n`;
  return { caCertPem: ca.toString('pem') + '\n', certPem: cert.toString('pem') + '\n', keyPem };
}
