import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateCloudCommand, validatePrinterCommand } from '../../src/polar/messages.js';
import { redactPayload } from '../../src/polar/redact.js';

test('cloud commands: valid ones pass with defaults, bad ones say why', () => {
  const pause = validateCloudCommand('pause', { serialNumber: 'KL1' });
  assert.deepEqual(pause, { ok: true, value: { serialNumber: 'KL1', type: 'pause' } });
  const bad = validateCloudCommand('pause', { serialNumber: 'KL1', type: 'melt' });
  assert.equal(bad.ok, false);
  assert.match(!bad.ok ? bad.reason : '', /^type: /);
  assert.equal(validateCloudCommand('cancel', {}).ok, false);
  assert.equal(validateCloudCommand('cancel', null).ok, false);
  assert.equal(validateCloudCommand('welcome', 'hi').ok, false);
});

test('customCommand accepts the documented key and the example key', () => {
  assert.deepEqual(validateCloudCommand('customCommand', { serialNumber: 'KL1', customCommand: 'C1' }), { ok: true, value: { serialNumber: 'KL1', customCommand: 'C1' } });
  assert.deepEqual(validateCloudCommand('customCommand', { serialNumber: 'KL1', command: 'C2' }), { ok: true, value: { serialNumber: 'KL1', customCommand: 'C2' } });
  assert.equal(validateCloudCommand('customCommand', { serialNumber: 'KL1' }).ok, false);
});

test('temperature: numbers or numeric strings only, tools collected; a bad field is ignored on its own (14.7)', () => {
  const t = validateCloudCommand('temperature', { serialNumber: 'KL1', tool0: 200, tool1: '210.5', bed: 60 });
  assert.deepEqual(t, { ok: true, value: { serialNumber: 'KL1', bed: 60, chamber: undefined, tools: { 0: 200, 1: 210.5 }, ignored: [] } });
  const ignored = (payload: Record<string, unknown>): unknown => {
    const r = validateCloudCommand('temperature', { serialNumber: 'KL1', ...payload });
    return r.ok ? { tools: r.value.tools, bed: r.value.bed, ignored: r.value.ignored } : r.reason;
  };
  assert.deepEqual(ignored({ tool0: '200\nM112', bed: 50 }), { tools: {}, bed: 50, ignored: ['tool0'] });
  assert.deepEqual(ignored({ bed: Infinity, tool1: 20 }), { tools: { 1: 20 }, bed: undefined, ignored: ['bed'] });
  assert.deepEqual(ignored({ bed: 'NaN' }), { tools: {}, bed: undefined, ignored: ['bed'] });
  assert.deepEqual(ignored({ 'tool-1': 5, toolX: 1, other: 'x' }), { tools: {}, bed: undefined, ignored: ['tool-1', 'toolX'] });
  assert.equal(validateCloudCommand('temperature', { serialNumber: 7, bed: 50 }).ok, false, 'no serialNumber: dropped whole');
});

test('print carries fileToPrint and the 3MF field', () => {
  const p = validateCloudCommand('print', { serialNumber: 'KL1', jobId: 'J1', threemfFile: 'https://x/y.3mf', fileToPrint: 'threemfFile', jobName: 'Box' });
  assert.equal(p.ok, true);
  assert.equal(validateCloudCommand('print', { serialNumber: 'KL1', jobId: 'J1', fileToPrint: 'objFile' }).ok, false);
});

test('jogPrinter carries an OctoPrint printhead/tool body', () => {
  const j = validateCloudCommand('jogPrinter', { serialNumber: 'KL1', jogPrinter: { command: 'jog', x: 10, y: -5 } });
  assert.equal(j.ok, true);
  assert.equal(validateCloudCommand('jogPrinter', { serialNumber: 'KL1', jogPrinter: { command: 'jog', x: 'far' } }).ok, false);
});

test('printer commands: hello protocol "2" and "2.0"; getUrl needs a jobId for printing', () => {
  assert.equal(validatePrinterCommand('hello', { serialNumber: 'KL1', signature: 'c2ln', protocol: '2' }).ok, true);
  assert.equal(validatePrinterCommand('hello', { serialNumber: 'KL1', signature: 'c2ln', protocol: '2.0' }).ok, true);
  assert.equal(validatePrinterCommand('hello', { serialNumber: 'KL1', signature: 'c2ln', protocol: 2 }).ok, false);
  assert.equal(validatePrinterCommand('getUrl', { serialNumber: 'KL1', method: 'post', type: 'idle' }).ok, true);
  const r = validatePrinterCommand('getUrl', { serialNumber: 'KL1', method: 'post', type: 'printing' });
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.reason : '', /jobId: jobId is required/);
  assert.equal(validatePrinterCommand('job', { serialNumber: 'KL1', jobId: '123', state: 'completed', printSeconds: 12.5 }).ok, false, 'integers only');
});

test('redaction masks PIN, keys, signatures and signed URLs', () => {
  const r = redactPayload({ email: 'a@b', pin: '1234', publicKey: 'x'.repeat(400), myInfo: { MAC: 'm' }, url: 'https://s3/x?X-Amz-Signature=abc', fields: { Policy: 'p' } });
  assert.deepEqual(r, { email: 'a@b', pin: '[redacted]', publicKey: '[400 chars]', myInfo: { MAC: 'm' }, url: 'https://s3/x?…', fields: '[redacted]' });
});
