import { afterEach, describe, expect, it } from 'vitest';
import { RuleLoadError } from '../../src/detect/rule-loader.js';
import { RuleSet } from '../../src/detect/rule-set.js';
import {
  DetectHarness,
  T0,
  TO_SERVER,
  hl7Message,
  loadRules,
  makeFlow,
  mountCall,
  notLpd,
  portmapCall,
  removeTempDirs,
  rulesYaml,
  tempDir,
  writeInto,
  type RuleText,
} from '../support/detect-harness.js';

afterEach(removeTempDirs);

const toExternal515: RuleText = { id: 1, match: { server: '$EXTERNAL_NET', server_port: 515 } };
const hl7Rule: RuleText = { id: 2, match: { event: { type: 'hl7.message' } } };
const notLpdAtEnd: RuleText = { id: 3, match: { seen: ['lpd.not_lpd'], at: 'flow_end' } };

const externalFlow = () => makeFlow({ client: '10.1.1.5', server: '198.51.100.7', serverPort: 515 });

describe('reloading rules', () => {
  it('keeps flow state: a rule that already fired on a flow does not fire again', async () => {
    const h = new DetectHarness(await loadRules([toExternal515]));
    const flow = externalFlow();
    h.packet(flow, TO_SERVER, T0);
    h.packet(flow, TO_SERVER, T0 + 1);
    h.engine.reload(await loadRules([toExternal515, hl7Rule]));
    h.packet(flow, TO_SERVER, T0 + 2);
    h.packet(flow, TO_SERVER, T0 + 3);
    expect(h.alerts.map((a) => [a.rule.id, a.tsSec])).toEqual([[1, T0]]);
    h.end(flow);
    // The count runs on across the reload.
    expect(h.recordOf(flow).matchesAtEnd).toEqual(new Map([[1, 4]]));
  });

  it('applies a newly added rule to flows that already exist', async () => {
    const h = new DetectHarness(await loadRules([toExternal515]));
    const flow = externalFlow();
    h.packet(flow, TO_SERVER, T0);
    h.event(flow, hl7Message(TO_SERVER));
    h.engine.reload(await loadRules([toExternal515, hl7Rule]));
    h.event(flow, hl7Message(TO_SERVER), T0 + 5);
    expect(h.alerts.map((a) => [a.rule.id, a.tsSec, a.matches])).toEqual([
      [1, T0, 1],
      [2, T0 + 5, 1],
    ]);
  });

  it('applies a newly added rule to a flow no rule applied to before', async () => {
    const h = new DetectHarness(await loadRules([toExternal515]));
    const internal = makeFlow({ client: '10.1.1.5', server: '10.1.5.20', serverPort: 2575 });
    h.packet(internal, TO_SERVER, T0);
    h.event(internal, hl7Message(TO_SERVER));
    expect(h.alerts).toEqual([]);
    h.engine.reload(await loadRules([toExternal515, hl7Rule]));
    h.event(internal, hl7Message(TO_SERVER), T0 + 5);
    h.end(internal);
    expect(h.alerts.map((a) => [a.rule.id, a.tsSec])).toEqual([[2, T0 + 5]]);
    expect(h.recordOf(internal).matchesAtEnd).toEqual(new Map([[2, 1]]));
  });

  it('lets an added flow-end rule use the events seen before the reload', async () => {
    const h = new DetectHarness(await loadRules([toExternal515]));
    const flow = externalFlow();
    h.event(flow, notLpd(TO_SERVER));
    h.engine.reload(await loadRules([toExternal515, notLpdAtEnd]));
    h.end(flow);
    expect(h.alertIds()).toEqual([3]);
  });

  it('stops firing a removed rule, on old flows and new ones', async () => {
    const every: RuleText = { ...toExternal515, per_flow: 'every' };
    const h = new DetectHarness(await loadRules([every, hl7Rule]));
    const flow = externalFlow();
    h.packet(flow, TO_SERVER, T0);
    h.engine.reload(await loadRules([hl7Rule]));
    h.packet(flow, TO_SERVER, T0 + 1);
    const fresh = externalFlow();
    h.packet(fresh, TO_SERVER, T0 + 2);
    h.event(fresh, hl7Message(TO_SERVER));
    expect(h.alerts.map((a) => [a.rule.id, a.flow])).toEqual([
      [1, flow],
      [2, fresh],
    ]);
  });

  it('applies a changed condition of a kept rule to existing flows', async () => {
    const h = new DetectHarness(await loadRules([{ ...toExternal515, per_flow: 'every' }]));
    const flow = externalFlow();
    h.packet(flow, TO_SERVER, T0);
    h.engine.reload(await loadRules([{ ...toExternal515, per_flow: 'every', rev: 2, match: { server: '$EXTERNAL_NET', server_port: 516 } }]));
    h.packet(flow, TO_SERVER, T0 + 1);
    expect(h.alerts.map((a) => [a.rule.id, a.rule.rev])).toEqual([[1, 1]]);
  });

  it('remembers which rules alerted on a flow across a reload (unless_alerted)', async () => {
    const quietAfter1: RuleText = { id: 4, match: { seen: ['hl7.message'], unless_alerted: [2], at: 'flow_end' } };
    const h = new DetectHarness(await loadRules([hl7Rule]));
    const flow = externalFlow();
    h.event(flow, hl7Message(TO_SERVER));
    h.engine.reload(await loadRules([hl7Rule, quietAfter1]));
    h.end(flow);
    expect(h.alertIds()).toEqual([2]);
  });

  it('remembers events seen between hosts across a reload (unless_seen_between_hosts)', async () => {
    const withoutMount: RuleText = {
      id: 5,
      match: { app_proto: ['portmap'], unless_seen_between_hosts: { type: 'mount.call', procedure: 'MNT' }, at: 'flow_end' },
    };
    // A rule of a newer pack that also looks between hosts, listed first.
    const withoutNfs: RuleText = {
      id: 6,
      match: { app_proto: ['mount'], unless_seen_between_hosts: { type: 'nfs.session' }, at: 'flow_end' },
    };
    const h = new DetectHarness(await loadRules([withoutMount]));
    const portmap = makeFlow({ client: '10.1.1.5', server: '198.51.100.7', proto: 'udp', serverPort: 111, appProto: 'portmap' });
    const mount = makeFlow({ client: '10.1.1.5', server: '198.51.100.7', proto: 'udp', serverPort: 20048, appProto: 'mount' });
    h.event(portmap, portmapCall(TO_SERVER));
    h.event(mount, mountCall(TO_SERVER, 'MNT', '/pm'));
    h.engine.reload(await loadRules([withoutNfs, withoutMount]));
    h.end(portmap);
    h.end(mount);
    // The MNT silences rule 5 on the portmap flow; no NFS session was seen, so rule 6 fires on the mount flow.
    expect(h.alerts.map((a) => [a.rule.id, a.flow])).toEqual([[6, mount]]);
  });

  it('a rule set that fails to load throws RuleLoadError and leaves the engine on its rules', async () => {
    const dir = tempDir({ 'site.yaml': rulesYaml([toExternal515]) });
    const { ruleSet } = await RuleSet.load({ rulesDir: dir });
    const h = new DetectHarness(ruleSet);
    const flow = externalFlow();
    h.packet(flow, TO_SERVER, T0);

    // An edit breaks the file, and a second file is added beside it.
    writeInto(dir, 'site.yaml', rulesYaml([{ ...toExternal515, match: { server: '$EXTERNAL_NET', server_port: 99999 } }]));
    writeInto(dir, 'more.yaml', rulesYaml([hl7Rule]));
    const failed = await RuleSet.load({ rulesDir: dir }).then(
      (loaded) => {
        h.engine.reload(loaded.ruleSet);
        return null;
      },
      (err: unknown) => err,
    );
    expect(failed).toBeInstanceOf(RuleLoadError);
    expect(h.engine.rules).toBe(ruleSet);

    const fresh = externalFlow();
    h.packet(fresh, TO_SERVER, T0 + 1);
    h.event(fresh, hl7Message(TO_SERVER));
    expect(h.alerts.map((a) => [a.rule.id, a.flow])).toEqual([
      [1, flow],
      [1, fresh],
    ]);
  });
});
