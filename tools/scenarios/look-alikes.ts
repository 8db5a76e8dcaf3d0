/**
 * Traffic that resembles the backdoor's without being it (a print job on 515, HL7 words in a web
 * page, TLS next door to the indicator block), and binary traffic to a printer port outside.
 */
import { concat, LINKTYPE, LPD, lpdCommand, lpdFile, lpdFileHeader, pcapFile, Prng, u16be } from '../craft/index.js';
import { clockAt, RTT, SITE, TcpSession, Timeline } from './network.js';
import type { DetectionScenario } from './scenario.js';

/** RFC 1179 print job: receive job, control file, data file, each acknowledged by a zero octet. */
function printJob(): Buffer {
  const timeline = new Timeline(clockAt(10, 35));
  // RFC 1179: the client's source port is one of 721-731.
  const s = new TcpSession(timeline, { client: { ip: SITE.workstation, port: 721 }, server: { ip: SITE.printer, port: 515 }, rtt: RTT.lan, clientIsn: 0x4c50a000, serverIsn: 0x2d2d0000 });
  const host = 'nurse-pc07';
  const dataName = `dfA042${host}`;
  const document = ['ICU 3 shift handover checklist', '', '[ ] Alarm limits reviewed', '[ ] Infusion pumps checked', '[ ] Crash cart sealed', ''].join('\n');
  const control = [`H${host}`, 'Pnurse', 'Jhandover-checklist.txt', `ldfA042${host}`, `U${dataName}`, 'Nhandover-checklist.txt', ''].join('\n');
  const ok = Buffer.from([0]);
  s.handshake();
  s.pause(500).send('client', lpdCommand(LPD.receiveJob, 'ward3-laser'), { ack: false }).send('server', ok);
  s.send('client', lpdFileHeader(LPD.receiveControlFile, control.length, `cfA042${host}`), { ack: false }).send('server', ok);
  s.send('client', lpdFile(control), { ack: false }).send('server', ok);
  s.send('client', lpdFileHeader(LPD.receiveDataFile, document.length, dataName), { ack: false }).send('server', ok);
  s.send('client', lpdFile(document), { ack: false }).pause(3_000).send('server', ok);
  s.close('client');
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, timeline.records);
}

/** A web page about HL7 v2 fetched from an outside server: HL7 text, but in HTML, towards the client. */
function webPage(): Buffer {
  const timeline = new Timeline(clockAt(10, 55));
  const s = new TcpSession(timeline, { client: { ip: SITE.workstation, port: 51544 }, server: { ip: SITE.webServer, port: 80 }, rtt: RTT.internet, clientIsn: 0x11d0c000, serverIsn: 0x77e1f000 });
  const request = ['GET /guides/hl7-v2-primer.html HTTP/1.1', 'Host: interop-training.example', 'User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64)', 'Accept: text/html', 'Connection: close', '', ''].join('\r\n');
  const html = [
    '<!DOCTYPE html>',
    '<html><head><title>HL7 v2 primer</title></head><body>',
    '<h1>Reading an HL7 v2 message</h1>',
    '<p>Every message starts with the MSH segment; the PID segment identifies the patient.</p>',
    '<pre>',
    'MSH|^~\\&|LAB|CITY HOSPITAL|EHR|CITY HOSPITAL|20240102120000||ORU^R01|00001|P|2.3',
    'PID|1||12345^^^CITY^MR||EXAMPLE^PATIENT',
    'OBX|1|NM|2345-7^Glucose^LN||95|mg/dL',
    '</pre>',
    '<p>Fields are separated by |, components by ^.</p>',
    '</body></html>',
    '',
  ].join('\n');
  const head = ['HTTP/1.1 200 OK', 'Date: Thu, 30 Jan 2025 10:55:00 GMT', 'Server: nginx', 'Content-Type: text/html; charset=utf-8', `Content-Length: ${Buffer.byteLength(html)}`, 'Connection: close', '', ''].join('\r\n');
  s.handshake();
  s.pause(300).send('client', request);
  s.pause(12_000).send('server', head + html);
  s.close('server');
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, timeline.records);
}

function tlsRecord(type: number, body: Buffer, version = 0x0303): Buffer {
  return concat(Buffer.from([type]), u16be(version), u16be(body.length), body);
}

function handshakeMessage(type: number, body: Buffer): Buffer {
  return concat(Buffer.from([type, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]), body);
}

function extension(type: number, body: Buffer): Buffer {
  return concat(u16be(type), u16be(body.length), body);
}

function vector8(body: Buffer): Buffer {
  return concat(Buffer.from([body.length]), body);
}

function vector16(body: Buffer): Buffer {
  return concat(u16be(body.length), body);
}

/** TLS 1.3 handshake to 202.114.5.10:443, then encrypted records both ways. */
function tlsSession(): Buffer {
  const rng = new Prng(0x7157);
  const timeline = new Timeline(clockAt(11, 0));
  const s = new TcpSession(timeline, { client: { ip: SITE.workstation, port: 52011 }, server: { ip: SITE.outsideBlock, port: 443 }, rtt: RTT.china, clientIsn: 0x5a17e000, serverIsn: 0x3ce80000 });
  const sessionId = rng.bytes(32);
  const name = Buffer.from('library.university.example');
  const clientHello = handshakeMessage(
    1,
    concat(
      u16be(0x0303),
      rng.bytes(32),
      vector8(sessionId),
      vector16(concat(...[0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f].map(u16be))),
      Buffer.from([1, 0]),
      vector16(
        concat(
          extension(0, vector16(concat(Buffer.from([0]), vector16(name)))),
          extension(10, vector16(concat(u16be(0x001d), u16be(0x0017)))),
          extension(13, vector16(concat(...[0x0403, 0x0804, 0x0401].map(u16be)))),
          extension(43, vector8(concat(u16be(0x0304), u16be(0x0303)))),
          extension(51, vector16(concat(u16be(0x001d), vector16(rng.bytes(32))))),
        ),
      ),
    ),
  );
  const serverHello = handshakeMessage(
    2,
    concat(
      u16be(0x0303),
      rng.bytes(32),
      vector8(sessionId),
      u16be(0x1301),
      Buffer.from([0]),
      vector16(concat(extension(43, u16be(0x0304)), extension(51, concat(u16be(0x001d), vector16(rng.bytes(32)))))),
    ),
  );
  const changeCipherSpec = tlsRecord(20, Buffer.from([1]));
  const encrypted = (length: number) => tlsRecord(23, rng.bytes(length));
  s.handshake();
  s.pause(400).send('client', tlsRecord(22, clientHello, 0x0301));
  s.pause(900).send('server', concat(tlsRecord(22, serverHello), changeCipherSpec, encrypted(2890)));
  s.send('client', concat(changeCipherSpec, encrypted(53)));
  s.pause(600).send('client', encrypted(412));
  s.pause(2_500).send('server', concat(encrypted(1187), encrypted(3620)));
  s.pause(30_000).send('client', encrypted(19), { ack: false });
  s.close('client');
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, timeline.records);
}

/** A binary protocol that is not LPD, HL7 or CMS8000, to an outside host on TCP 517. */
function binaryTo517(): Buffer {
  const rng = new Prng(0x517);
  const timeline = new Timeline(clockAt(11, 10));
  const s = new TcpSession(timeline, { client: { ip: SITE.monitor, port: 40917 }, server: { ip: SITE.external517, port: 517 }, rtt: RTT.internet, clientIsn: 0x29f0e000, serverIsn: 0x61a20000 });
  const message = (kind: number, length: number) => concat(Buffer.from([0xa7, 0x3c, kind, 0x00]), u16be(length), rng.bytes(length));
  s.handshake();
  s.pause(500).send('client', message(0x10, 58));
  s.pause(900).send('server', message(0x90, 12));
  for (let i = 0; i < 3; i++) s.pause(1_000_000).send('client', message(0x21, 240 + 16 * i));
  s.pause(500_000).close('client');
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, timeline.records);
}

export const lookAlikeScenarios: DetectionScenario[] = [
  {
    file: 'lpd-internal-printer.pcap',
    description: `RFC 1179 print job from ${SITE.workstation}:721 to the ward printer ${SITE.printer}:515: receive job (queue ward3-laser), control file, data file, each acknowledged`,
    expected: {
      alerts: {},
      why: 'real LPD between two HOME_NET hosts: the printer-port rules need an outside server, and none of the hosts is an indicator',
    },
    build: printJob,
  },
  {
    file: 'web-hl7-words.pcap',
    description: `HTTP GET from ${SITE.workstation} to ${SITE.webServer}:80 and a text/html page quoting "MSH|^~\\&" and "PID" segments`,
    expected: {
      alerts: {},
      why: 'the HL7 words travel from the web server to the client inside an HTTP response, not as an HL7 message sent to an outside server; port 80 is no printer port',
    },
    build: webPage,
  },
  {
    file: 'outside-indicator-24.pcap',
    description: `TLS 1.3 handshake and encrypted records between ${SITE.workstation} and ${SITE.outsideBlock}:443, just outside 202.114.4.0/24`,
    expected: {
      alerts: {},
      why: `${SITE.outsideBlock} is not in 202.114.4.0/24, and TLS on 443 is neither HL7, CMS8000, RPC nor a printer port`,
    },
    build: tlsSession,
  },
  {
    file: 'non-lpd-external-517.pcap',
    description: `A binary protocol (not LPD, HL7 or CMS8000) from ${SITE.monitor} to ${SITE.external517}:517, answered`,
    expected: {
      alerts: { '1000006': 1 },
      why: 'non-LPD traffic to an outside host on a printer port (515-520) that raised neither 1000002 nor 1000003: 1000006 once, at the end of the flow',
    },
    build: binaryTo517,
  },
];
