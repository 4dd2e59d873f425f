import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { createServer, type Server } from 'node:tls';
import { expect } from 'chai';
import {
  BACKUP_CLIENT_CN,
  REPLICATION_CLIENT_CN,
  caIsCurrent,
  caIsSound,
  clusterPkiSecretNames,
  clusterPkiSecrets,
  issueCa,
  issueClusterPki,
  leafIsCurrent,
  needsRenewal,
  renewLeaf,
  renewalTime,
  serverDnsNames,
  type ClusterPki,
} from '../../../../runtime/controller/mysql/cluster/cluster-pki.js';
import { tlsProbe } from '../../../support/tls-probe.js';

const DAY = 86_400_000;
const now = new Date('2026-12-04T10:00:00Z');
const at = (days: number) => new Date(now.getTime() + days * DAY);
const SERVER_EKU = '1.3.6.1.5.5.7.3.1';
const CLIENT_EKU = '1.3.6.1.5.5.7.3.2';
const owner = {
  apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1',
  kind: 'Cluster',
  name: 'db',
  uid: 'u-1',
  controller: true,
  blockOwnerDeletion: true,
};

const x509 = (pem: string) => new X509Certificate(pem);
const days = (cert: X509Certificate) => (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / DAY;

describe('controller/mysql/cluster: the operator-managed PKI', function () {
  this.timeout(30_000);
  let pki: ClusterPki;
  let rogue: ClusterPki;
  before(async () => {
    [pki, rogue] = await Promise.all([
      issueClusterPki({ cluster: 'db', namespace: 'shop', now }),
      issueClusterPki({ cluster: 'db', namespace: 'shop', now }),
    ]);
  });

  describe('issueClusterPki', () => {
    it('issues a self-signed ECDSA P-256 CA named <cluster>-ca for about a year', () => {
      const ca = x509(pki.ca.cert);
      expect(ca.ca).to.equal(true);
      expect(ca.subject).to.equal('CN=db-ca');
      expect(ca.checkIssued(ca) && ca.verify(ca.publicKey)).to.equal(true);
      expect(ca.publicKey.asymmetricKeyDetails?.namedCurve).to.equal('prime256v1');
      expect(ca.checkPrivateKey(createPrivateKey(pki.ca.key))).to.equal(true);
      expect(days(ca)).to.be.closeTo(365, 0.01);
    });

    it('signs every leaf with the CA: 90 days, ECDSA P-256, not a CA, each with its own key', () => {
      const ca = x509(pki.ca.cert);
      for (const pair of [pki.server, pki.backupClient, pki.replicationClient]) {
        const leaf = x509(pair.cert);
        expect(leaf.checkIssued(ca), leaf.subject).to.equal(true);
        expect(leaf.verify(ca.publicKey), leaf.subject).to.equal(true);
        expect(leaf.verify(x509(rogue.ca.cert).publicKey), leaf.subject).to.equal(false);
        expect(leaf.ca).to.equal(false);
        expect(leaf.publicKey.asymmetricKeyDetails?.namedCurve).to.equal('prime256v1');
        expect(leaf.checkPrivateKey(createPrivateKey(pair.key))).to.equal(true);
        expect(days(leaf)).to.be.closeTo(90, 0.01);
      }
      expect(new Set([pki.ca.key, pki.server.key, pki.backupClient.key, pki.replicationClient.key]).size).to.equal(4);
    });

    it('names every address a client dials in the server certificate, for serverAuth only', () => {
      const server = x509(pki.server.cert);
      expect(server.subject).to.equal('CN=db-instance-manager');
      const sans = server.subjectAltName!.split(', ');
      expect(sans).to.have.length(16);
      for (const service of ['db-instance-manager', 'db-rw', 'db-ro', 'db-r']) {
        for (const suffix of ['', '.shop', '.shop.svc', '.shop.svc.cluster.local']) {
          expect(sans).to.include(`DNS:${service}${suffix}`);
          expect(server.checkHost(`${service}${suffix}`)).to.equal(`${service}${suffix}`);
        }
      }
      expect(server.checkHost('db-rw.other.svc')).to.equal(undefined);
      expect(serverDnsNames('db', 'shop')).to.have.length(16);
      expect(server.keyUsage).to.deep.equal([SERVER_EKU]);
    });

    it('issues the backup client (silo-backup) and the replication client (silo-replication) for clientAuth only', () => {
      const backup = x509(pki.backupClient.cert);
      const replication = x509(pki.replicationClient.cert);
      expect(backup.subject).to.equal(`CN=${BACKUP_CLIENT_CN}`);
      expect(replication.subject).to.equal(`CN=${REPLICATION_CLIENT_CN}`);
      expect(backup.keyUsage).to.deep.equal([CLIENT_EKU]);
      expect(replication.keyUsage).to.deep.equal([CLIENT_EKU]);
      expect(backup.subjectAltName).to.equal(undefined);
    });

    it('honours validityDays and never lets a leaf outlive its CA', async () => {
      const short = await issueClusterPki({ cluster: 'db', namespace: 'shop', now, validityDays: 7 });
      expect(days(x509(short.server.cert))).to.be.closeTo(7, 0.01);
      const late = await renewLeaf({ ca: pki.ca, kind: 'server', cluster: 'db', namespace: 'shop', now: at(300) });
      expect(x509(late.cert).validTo).to.equal(x509(pki.ca.cert).validTo);
    });
  });

  describe('mutual TLS between the issued certificates (node:tls on 127.0.0.1)', () => {
    let server: Server;
    let port: number;
    const peers: string[] = [];
    const sockets = new Set<Socket>();
    before(async () => {
      server = createServer(
        { key: pki.server.key, cert: pki.server.cert, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
        (socket) => {
          peers.push(socket.getPeerCertificate().subject.CN as string);
          socket.end('ok');
        },
      );
      server.on('tlsClientError', () => undefined);
      server.on('connection', (socket) => sockets.add(socket));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    after(() => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('the backup and the replication client are accepted; the client sees the server certificate', async () => {
      for (const [pair, cn] of [
        [pki.backupClient, BACKUP_CLIENT_CN],
        [pki.replicationClient, REPLICATION_CLIENT_CN],
      ] as const) {
        const peer = await tlsProbe({ port, ca: pki.ca.cert, servername: 'db-instance-manager', ...pair });
        expect(peer.subject.CN).to.equal('db-instance-manager');
        expect(peers.at(-1)).to.equal(cn);
      }
      const viaService = await tlsProbe({ port, ca: pki.ca.cert, servername: 'db-rw.shop.svc.cluster.local', ...pki.backupClient });
      expect(viaService.fingerprint256).to.equal(x509(pki.server.cert).fingerprint256);
    });

    it('refuses a client certificate from another CA, and a client without one', async () => {
      const outcome = (p: Promise<unknown>) =>
        p.then(
          () => 'accepted',
          () => 'refused',
        );
      const served = peers.length;
      expect(await outcome(tlsProbe({ port, ca: pki.ca.cert, servername: 'db-instance-manager', ...rogue.backupClient }))).to.equal(
        'refused',
      );
      expect(await outcome(tlsProbe({ port, ca: pki.ca.cert, servername: 'db-instance-manager' }))).to.equal('refused');
      expect(peers.length, 'the server never served a refused client').to.equal(served);
    });

    it('a client that trusts another CA, or dials a name the certificate lacks, refuses the server', async () => {
      const error = (e: NodeJS.ErrnoException) => e.code ?? e.message;
      // The server sends its CA with its certificate (it is in its `ca`), which the client does not trust.
      expect(await tlsProbe({ port, ca: rogue.ca.cert, servername: 'db-instance-manager', ...pki.backupClient }).catch(error)).to.equal(
        'SELF_SIGNED_CERT_IN_CHAIN',
      );
      expect(await tlsProbe({ port, ca: pki.ca.cert, servername: 'other-rw', ...pki.backupClient }).catch(error)).to.equal(
        'ERR_TLS_CERT_ALTNAME_INVALID',
      );
    });
  });

  describe('renewal', () => {
    it('is due when a third of the lifetime is left, or 30 days, but never in the first half', async () => {
      const leafEnd = Date.parse(x509(pki.server.cert).validTo);
      // The lifetime counts the 5 minutes notBefore is backdated by: a third of it is 30 days and 100 seconds.
      expect(renewalTime(pki.server.cert)!.getTime()).to.equal(leafEnd - 30 * DAY - 100_000);
      expect(needsRenewal(pki.server.cert, at(59))).to.equal(false);
      expect(needsRenewal(pki.server.cert, at(61))).to.equal(true);
      const caEnd = Date.parse(x509(pki.ca.cert).validTo);
      const caLife = caEnd - Date.parse(x509(pki.ca.cert).validFrom);
      expect(renewalTime(pki.ca.cert)!.getTime()).to.be.closeTo(caEnd - caLife / 3, 1000);
      expect(needsRenewal(pki.ca.cert, at(240))).to.equal(false);
      expect(needsRenewal(pki.ca.cert, at(246))).to.equal(true);
      const short = await renewLeaf({ ca: pki.ca, kind: 'backup-client', cluster: 'db', namespace: 'shop', now, validityDays: 10 });
      expect(needsRenewal(short.cert, at(4.9))).to.equal(false);
      expect(needsRenewal(short.cert, at(5.1))).to.equal(true);
      expect(needsRenewal('not a certificate', now)).to.equal(true);
    });

    it('re-signs a leaf with the existing CA and a new key; the old leaf is kept only while current', async () => {
      const request = { kind: 'server', cluster: 'db', namespace: 'shop' } as const;
      const renewed = await renewLeaf({ ca: pki.ca, ...request, now: at(61) });
      expect(renewed.key).to.not.equal(pki.server.key);
      expect(x509(renewed.cert).checkIssued(x509(pki.ca.cert))).to.equal(true);
      expect(x509(renewed.cert).serialNumber).to.not.equal(x509(pki.server.cert).serialNumber);
      expect(leafIsCurrent(pki.server, pki.ca.cert, { ...request, now })).to.equal(true);
      expect(leafIsCurrent(pki.server, pki.ca.cert, { ...request, now: at(61) })).to.equal(false);
      expect(leafIsCurrent(renewed, pki.ca.cert, { ...request, now: at(61) })).to.equal(true);
      // Another CA, another key, another namespace or another kind: re-issued.
      expect(leafIsCurrent(pki.server, rogue.ca.cert, { ...request, now })).to.equal(false);
      expect(leafIsCurrent({ cert: pki.server.cert, key: renewed.key }, pki.ca.cert, { ...request, now })).to.equal(false);
      expect(leafIsCurrent(pki.server, pki.ca.cert, { ...request, namespace: 'other', now })).to.equal(false);
      expect(leafIsCurrent(pki.server, pki.ca.cert, { ...request, kind: 'backup-client', now })).to.equal(false);
      expect(leafIsCurrent({ cert: 'garbage', key: 'garbage' }, pki.ca.cert, { ...request, now })).to.equal(false);
    });

    it('keeps a CA until it is due, and never takes a leaf or a mismatched key for one', async () => {
      expect(caIsCurrent(pki.ca, now)).to.equal(true);
      expect(caIsCurrent(pki.ca, at(246))).to.equal(false);
      expect(caIsCurrent({ cert: pki.ca.cert, key: rogue.ca.key }, now)).to.equal(false);
      expect(caIsCurrent(pki.server, now)).to.equal(false);
      expect(caIsCurrent({ cert: pki.ca.cert, key: 'garbage' }, now)).to.equal(false);
      const second = await issueCa({ cluster: 'db', now: at(246) });
      expect(caIsCurrent(second, at(246))).to.equal(true);
    });

    it('judges the same PEMs again at another time: a verdict kept for their bytes never outlives the certificate', () => {
      // The first calls keep what parsing found (decision 0253); these ask again about the same bytes, later.
      expect(caIsSound(pki.ca, now)).to.equal(true);
      expect(caIsSound(pki.ca, at(364))).to.equal(true);
      expect(caIsSound(pki.ca, at(366))).to.equal(false);
      expect(caIsCurrent(pki.ca, at(240))).to.equal(true);
      expect(caIsCurrent(pki.ca, at(246))).to.equal(false);
      const request = { kind: 'server', cluster: 'db', namespace: 'shop' } as const;
      expect(leafIsCurrent(pki.server, pki.ca.cert, { ...request, now: at(59) })).to.equal(true);
      expect(leafIsCurrent(pki.server, pki.ca.cert, { ...request, now: at(61) })).to.equal(false);
      // A different key under the same certificate is other bytes: judged afresh, and refused.
      expect(leafIsCurrent({ cert: pki.server.cert, key: rogue.server.key }, pki.ca.cert, { ...request, now })).to.equal(false);
    });
  });

  describe('Secret names', () => {
    it('defaults to decision 0220 names, and the operator issues both sides', () => {
      expect(clusterPkiSecretNames('db', undefined)).to.deep.equal({
        ok: true,
        names: {
          ca: 'db-ca',
          serverCA: 'db-server-ca',
          serverTLS: 'db-server-tls',
          clientCA: 'db-client-ca',
          clientTLS: 'db-client-tls',
          replicationTLS: 'db-replication-tls',
          operatorIssues: { server: true, client: true },
        },
      });
    });

    it('uses user-supplied Secrets as given, side by side', () => {
      const all = clusterPkiSecretNames('db', {
        serverCASecret: 'my-ca',
        serverTLSSecret: 'my-tls',
        clientCASecret: 'c-ca',
        clientTLSSecret: 'c-tls',
      });
      expect(all).to.deep.include({ ok: true });
      expect(all.ok && all.names).to.deep.include({ serverCA: 'my-ca', serverTLS: 'my-tls', clientCA: 'c-ca', clientTLS: 'c-tls' });
      expect(all.ok && all.names.operatorIssues).to.deep.equal({ server: false, client: false });
      const serverOnly = clusterPkiSecretNames('db', { serverCASecret: 'my-ca', serverTLSSecret: 'my-tls' });
      expect(serverOnly.ok && serverOnly.names).to.deep.include({ serverCA: 'my-ca', serverTLS: 'my-tls', clientCA: 'db-client-ca' });
      expect(serverOnly.ok && serverOnly.names.operatorIssues).to.deep.equal({ server: false, client: true });
    });

    it('refuses one Secret of a pair without the other, naming both fields', () => {
      expect(clusterPkiSecretNames('db', { serverTLSSecret: 'my-tls' })).to.deep.equal({
        ok: false,
        reason: 'CertificatesIncomplete',
        message:
          'Cluster db: spec.certificates.serverTLSSecret is set but serverCASecret is not; set serverCASecret too, or remove serverTLSSecret to let the operator issue both.',
      });
      const client = clusterPkiSecretNames('db', { clientCASecret: 'c-ca' });
      expect(!client.ok && client.message).to.match(/clientCASecret is set but clientTLSSecret is not/);
    });
  });

  describe('clusterPkiSecrets', () => {
    const decode = (value: string | undefined) => Buffer.from(value ?? '', 'base64').toString('utf8');

    it('renders six Secrets owned by the Cluster; server-ca and client-ca hold the same ca.crt', () => {
      const secrets = clusterPkiSecrets('db', 'shop', pki, owner);
      expect(secrets.map((s) => [s.metadata!.name, s.type])).to.deep.equal([
        ['db-ca', 'Opaque'],
        ['db-server-ca', 'Opaque'],
        ['db-server-tls', 'kubernetes.io/tls'],
        ['db-client-ca', 'Opaque'],
        ['db-client-tls', 'kubernetes.io/tls'],
        ['db-replication-tls', 'kubernetes.io/tls'],
      ]);
      for (const s of secrets) {
        expect(s.metadata!.namespace).to.equal('shop');
        expect(s.metadata!.labels).to.deep.equal({ 'app.kubernetes.io/managed-by': 'silo', 'mysql.cloudnative-mysql.io/cluster': 'db' });
        expect(s.metadata!.ownerReferences).to.deep.equal([owner]);
      }
      const byName = Object.fromEntries(secrets.map((s) => [s.metadata!.name, s.data!]));
      expect(Object.keys(byName['db-ca'])).to.deep.equal(['ca.crt', 'ca.key']);
      expect(decode(byName['db-ca']['ca.key'])).to.equal(pki.ca.key);
      expect(decode(byName['db-server-ca']['ca.crt'])).to.equal(pki.ca.cert);
      expect(byName['db-client-ca']['ca.crt']).to.equal(byName['db-server-ca']['ca.crt']);
      expect(decode(byName['db-server-tls']['tls.crt'])).to.equal(pki.server.cert);
      expect(decode(byName['db-replication-tls']['tls.key'])).to.equal(pki.replicationClient.key);
      // The backup client's key is in its own Secret only: the one Jobs mount, never a database Pod.
      const holders = secrets.filter((s) => Object.values(s.data!).some((v) => decode(v) === pki.backupClient.key));
      expect(holders.map((s) => s.metadata!.name)).to.deep.equal(['db-client-tls']);
    });

    it('renders only the side the operator issues, and trusts the previous CA during a rotation', () => {
      const secrets = clusterPkiSecrets('db', 'shop', { ca: pki.ca, previousCaCert: rogue.ca.cert, backupClient: pki.backupClient }, owner);
      expect(secrets.map((s) => s.metadata!.name)).to.deep.equal(['db-ca', 'db-client-ca', 'db-client-tls']);
      expect(decode(secrets[0].data!['previous-ca.crt'])).to.equal(rogue.ca.cert);
      const bundle = decode(secrets[1].data!['ca.crt']);
      expect(bundle).to.equal(`${pki.ca.cert}${rogue.ca.cert}`);
      expect(bundle.match(/BEGIN CERTIFICATE/g)).to.have.length(2);
    });
  });
});
