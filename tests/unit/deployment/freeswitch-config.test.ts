import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../../app/project-root.js';
import { INBAND_DTMF_DETECTOR, LEG_VARIABLES } from '../../../media-server/freeswitch/freeswitch-commands.js';
import { attributeValues, param, wellFormed, xpath } from '../../support/xmllint.js';

/**
 * freeswitch-config/ parsed with xmllint, and every setting the FreeSWITCH
 * media path and PCI DSS depend on asserted. FreeSWITCH itself cannot be
 * installed here; these are the files docker-compose.yml mounts into it.
 */

const DIR = join(projectRoot(), 'freeswitch-config');
const file = (name: string): string => join(DIR, name);
const PROFILE = file('sip_profiles/drachtio_mrf.xml');
const SETTINGS = "/include/profile[@name='drachtio_mrf']/settings";

function xmlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? xmlFiles(path) : name.endsWith('.xml') ? [path] : [];
  });
}

/** The preprocessor defaults of vars.xml (`set`), by name. */
function varsDefaults(): Map<string, string> {
  return new Map(attributeValues(file('vars.xml'), "//X-PRE-PROCESS[@cmd='set']/@data").map((d) => [d.slice(0, d.indexOf('=')), d.slice(d.indexOf('=') + 1)]));
}

describe('freeswitch-config/', () => {
  it('is the expected set of files, each well-formed XML', () => {
    const files = xmlFiles(DIR).map((f) => relative(DIR, f)).sort();
    expect(files).toEqual([
      'autoload_configs/acl.conf.xml',
      'autoload_configs/conference.conf.xml',
      'autoload_configs/console.conf.xml',
      'autoload_configs/event_socket.conf.xml',
      'autoload_configs/modules.conf.xml',
      'autoload_configs/sofia.conf.xml',
      'autoload_configs/spandsp.conf.xml',
      'autoload_configs/switch.conf.xml',
      'dialplan/mrf.xml',
      'freeswitch.xml',
      'sip_profiles/drachtio_mrf.xml',
      'vars.xml',
    ]);
    for (const f of files) expect(() => wellFormed(file(f)), f).not.toThrow();
  });

  it('freeswitch.xml pulls in vars.xml, the module settings and the dialplan; sofia.conf.xml the profile', () => {
    expect(xpath(file('freeswitch.xml'), "string(/document/@type)")).toBe('freeswitch/xml');
    expect(xpath(file('freeswitch.xml'), "string(/document/X-PRE-PROCESS[@cmd='include']/@data)")).toBe('vars.xml');
    expect(xpath(file('freeswitch.xml'), "string(//section[@name='configuration']/X-PRE-PROCESS/@data)")).toBe('autoload_configs/*.xml');
    expect(xpath(file('freeswitch.xml'), "string(//section[@name='dialplan']/X-PRE-PROCESS/@data)")).toBe('dialplan/*.xml');
    expect(xpath(file('autoload_configs/sofia.conf.xml'), "string(//profiles/X-PRE-PROCESS[@cmd='include']/@data)")).toBe('../sip_profiles/*.xml');
  });

  it('event socket: the password from the environment (never a default), behind an ACL that allows only the IVR and loopback', () => {
    const esl = file('autoload_configs/event_socket.conf.xml');
    expect(param(esl, '//settings', 'password')).toBe('$${esl_password}');
    expect(xpath(file('vars.xml'), "string(//X-PRE-PROCESS[@cmd='env-set' and starts-with(@data, 'esl_password=')]/@data)")).toBe('esl_password=$FREESWITCH_SECRET');
    expect(varsDefaults().has('esl_password')).toBe(false);
    // Ports and addresses: the compose defaults, each replaceable from the environment (tools/telephony-stack.ts does).
    expect(param(esl, '//settings', 'listen-port')).toBe('$${esl_port}');
    expect(param(esl, '//settings', 'listen-ip')).toBe('$${esl_listen_ip}');
    const vars = varsDefaults();
    expect([vars.get('esl_port'), vars.get('esl_listen_ip'), vars.get('mrf_sip_port'), vars.get('bind_ip')]).toEqual(['8021', '0.0.0.0', '5080', '$${local_ip_v4}']);
    const envSet = attributeValues(file('vars.xml'), "//X-PRE-PROCESS[@cmd='env-set']/@data");
    expect(envSet).toEqual(
      expect.arrayContaining(['esl_port=$FREESWITCH_ESL_PORT', 'esl_listen_ip=$FREESWITCH_ESL_LISTEN_IP', 'mrf_sip_port=$FREESWITCH_SIP_PORT', 'bind_ip=$FREESWITCH_BIND_IP']),
    );
    expect(param(esl, '//settings', 'apply-inbound-acl')).toBe('esl_clients');
    const acl = file('autoload_configs/acl.conf.xml');
    expect(xpath(acl, "string(//list[@name='esl_clients']/@default)")).toBe('deny');
    expect(attributeValues(acl, "//list[@name='esl_clients']/node[@type='allow']/@cidr")).toEqual(['127.0.0.1/32', '$${esl_allow_cidr}']);
    expect(xpath(acl, "string(//list[@name='drachtio_only']/@default)")).toBe('deny');
    expect(attributeValues(acl, "//list[@name='drachtio_only']/node/@cidr")).toEqual(['$${sip_allow_cidr}']);
    // No stock default as a value anywhere (the comments name them as what never to use).
    for (const f of xmlFiles(DIR)) expect(readFileSync(f, 'utf8').replace(/<!--[\s\S]*?-->/g, ''), f).not.toMatch(/cluecon|cymru/i);
  });

  it('drachtio_mrf profile: RFC 2833 at PT 101 and never passed through, greedy G.711 negotiation, late negotiation, 3pcc, drachtio-server only, media kept', () => {
    const s = (name: string): string => param(PROFILE, SETTINGS, name);
    expect(s('dtmf-type')).toBe('rfc2833');
    expect(s('rfc2833-pt')).toBe('101');
    expect(s('pass-rfc2833')).toBe('false');
    expect(s('inbound-codec-negotiation')).toBe('greedy');
    expect(s('inbound-late-negotiation')).toBe('true');
    expect([s('inbound-codec-prefs'), s('outbound-codec-prefs')]).toEqual(['$${global_codec_prefs}', '$${global_codec_prefs}']);
    expect(varsDefaults().get('global_codec_prefs')).toBe('PCMU,PCMA');
    expect(s('enable-3pcc')).toBe('true');
    expect(s('apply-inbound-acl')).toBe('drachtio_only');
    expect(s('auth-calls')).toBe('false');
    expect(s('disable-register')).toBe('true');
    expect(s('disable-transfer')).toBe('true');
    expect(s('sip-trace')).toBe('no');
    expect(s('inbound-bypass-media')).toBe('false');
    expect(s('inbound-proxy-media')).toBe('false');
    expect(s('context')).toBe('mrf');
    expect(s('dialplan')).toBe('XML');
    expect(s('ext-rtp-ip')).toBe('$${ext_rtp_ip}');
    // The SDP names the address the profile binds unless FREESWITCH_EXTERNAL_IP says otherwise (NAT).
    expect([s('sip-ip'), s('rtp-ip')]).toEqual(['$${bind_ip}', '$${bind_ip}']);
    expect(varsDefaults().get('ext_rtp_ip')).toBe('$${bind_ip}');
    // Paced by FreeSWITCH's clock: without it a silent party stalls playback and every command on its channel.
    expect(s('rtp-timer-name')).toBe('soft');
    // Plain RTP: no optional SRTP line ahead of RTP/AVP in the offers for the calls the IVR places.
    expect(varsDefaults().get('rtp_secure_media')).toBe('false');
    // SRTP (SDES) only when the operator sets it: FREESWITCH_RTP_SECURE_MEDIA replaces the default.
    expect(attributeValues(file('vars.xml'), "//X-PRE-PROCESS[@cmd='env-set']/@data")).toContain('rtp_secure_media=$FREESWITCH_RTP_SECURE_MEDIA');
  });

  it("dialplan: drachtio-fsmrf's calls are answered, set up and handed to the controller's outbound socket; anything else is refused", () => {
    const dialplan = file('dialplan/mrf.xml');
    const condition = "/include/context[@name='mrf']/extension[@name='drachtio-fsmrf']/condition";
    expect(xpath(dialplan, `string(${condition}/@field)`)).toBe('${sip_user_agent}');
    expect(xpath(dialplan, `string(${condition}/@expression)`)).toBe('^drachtio-fsmrf:(.*)$');
    const actions = [...xpath(dialplan, `${condition}/action`).matchAll(/<action application="([^"]+)"(?: data="([^"]*)")?\/>/g)].map((m) => (m[2] === undefined ? m[1] : `${m[1]} ${m[2]}`));
    expect(actions).toEqual([
      'answer',
      'set hangup_after_bridge=false',
      'set park_after_bridge=true',
      'set playback_terminators=none',
      'set digits_dialed_filter=(.+)',
      'set send_silence_when_idle=-1',
      'socket ${sip_h_X-esl-outbound} async full',
    ]);
    expect(xpath(dialplan, "string(//extension[@name='refuse']/condition/action/@application)")).toBe('hangup');
  });

  it('conference profile pci_bridge: no caller or moderator controls, members never pass or receive DTMF, no auto-record', () => {
    const conference = file('autoload_configs/conference.conf.xml');
    const profile = "//profiles/profile[@name='pci_bridge']";
    expect(param(conference, profile, 'caller-controls')).toBe('none');
    expect(param(conference, profile, 'moderator-controls')).toBe('none');
    const flags = param(conference, profile, 'member-flags').split('|');
    expect(flags).toContain('skip-dtmf');
    expect(flags).not.toContain('dist-dtmf');
    expect(param(conference, profile, 'auto-record')).toBe('');
    // "none" is a reserved group name: defining it would shadow the built-in empty one.
    expect(xpath(conference, "//caller-controls/group[@name='none']")).toBe('');
  });

  it('modules: exactly what the media path uses; no CDR and no log-file module (digits_dialed would reach the disk)', () => {
    const modules = attributeValues(file('autoload_configs/modules.conf.xml'), '//modules/load/@module');
    expect(modules).toEqual(['mod_console', 'mod_event_socket', 'mod_sofia', 'mod_commands', 'mod_dptools', 'mod_conference', 'mod_dialplan_xml', 'mod_spandsp', 'mod_sndfile', 'mod_tone_stream']);
    // The adapter's in-band detector is mod_spandsp's.
    expect(INBAND_DTMF_DETECTOR).toBe('spandsp_start_dtmf');
    expect(LEG_VARIABLES).toContainEqual(['bridge_filter_dtmf', 'true']);
  });

  it('core: errors-only logging (digits appear at INFO, WARNING and DEBUG), no core dumps, the RTP range from vars.xml', () => {
    const core = file('autoload_configs/switch.conf.xml');
    expect(param(core, '//settings', 'loglevel')).toBe('err');
    expect(param(core, '//settings', 'dump-cores')).toBe('no');
    expect(param(core, '//settings', 'rtp-start-port')).toBe('$${rtp_start_port}');
    expect(param(core, '//settings', 'rtp-end-port')).toBe('$${rtp_end_port}');
    const vars = varsDefaults();
    expect(Number(vars.get('rtp_end_port')) - Number(vars.get('rtp_start_port'))).toBeGreaterThan(50);
    const console = file('autoload_configs/console.conf.xml');
    expect(param(console, '//settings', 'loglevel')).toBe('err');
    expect(xpath(console, "string(//mappings/map[@name='all']/@value)")).toBe('err,crit,alert');
  });

  it('each file where a setting matters for PCI says so in a comment', () => {
    for (const name of ['vars.xml', 'freeswitch.xml', 'autoload_configs/switch.conf.xml', 'autoload_configs/console.conf.xml', 'autoload_configs/event_socket.conf.xml', 'autoload_configs/acl.conf.xml', 'autoload_configs/modules.conf.xml', 'autoload_configs/conference.conf.xml', 'sip_profiles/drachtio_mrf.xml', 'dialplan/mrf.xml']) {
      expect(Number(xpath(file(name), "count(//comment()[contains(., 'PCI DSS')])")), name).toBeGreaterThan(0);
    }
  });
});
