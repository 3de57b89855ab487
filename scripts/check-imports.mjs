// Enforces the layout card: imports flow src -> moonraker-bridge and
// src -> camera, never back; only adapter files import protocol libraries.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';

// Files allowed to import a protocol library directly. Add deliberately.
const ADAPTERS = {
  'ws': ['moonraker-bridge/ws-transport.ts', 'src/simulator/moonraker-server.ts'],
  'socket.io-client': ['src/polar/socketio-transport.ts'],
  'got': [],
};
const roots = ['src', 'moonraker-bridge', 'camera'];
const problems = [];

function walk(dir) {
  let out = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out = out.concat(walk(full));
    else if (name.endsWith('.ts')) out.push(full);
  }
  return out;
}

for (const root of roots.filter((r) => existsSync(r))) {
  for (const file of walk(root)) {
    const rel = relative('.', file);
    const text = readFileSync(file, 'utf8');
    const re = /(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
    for (const m of text.matchAll(re)) {
      const spec = m[1] ?? m[2];
      if (spec in ADAPTERS && !ADAPTERS[spec].includes(rel)) {
        problems.push(`${rel}: imports '${spec}' but is not a listed adapter`);
      }
      if (spec.startsWith('.')) {
        const target = relative('.', resolve(dirname(file), spec));
        const top = target.split(/[\\/]/)[0];
        if (root !== 'src' && top === 'src') problems.push(`${rel}: imports ${target} (imports must not flow back into src/)`);
        if (root === 'camera' && top === 'moonraker-bridge') problems.push(`${rel}: camera/ must not import moonraker-bridge/`);
        if (root === 'moonraker-bridge' && top === 'camera') problems.push(`${rel}: moonraker-bridge/ must not import camera/`);
      }
    }
  }
}
if (problems.length) {
  console.error('Layout check failed:\n' + problems.join('\n'));
  process.exit(1);
}
console.log('layout check: ok');
