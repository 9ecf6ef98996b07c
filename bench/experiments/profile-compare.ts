import { place, readProfile } from '../profile-summary';

// Two CPU profiles of one measured run each (a baseline's and clicktrail's, `npm run bench -- --profile`),
// read as microseconds of CPU per request by package or file, largest difference first.
// Run: npx tsx bench/experiments/profile-compare.ts <baseline.cpuprofile> <its requests> <clicktrail.cpuprofile> <its requests>

const SOCKET_WRITES = new Set(['writeBuffer', 'writeLatin1String', 'writeUtf8String', 'writev']);

function microsPerRequest(file: string, requests: number): Map<string, number> {
  const { byId, selfUs } = readProfile(file);
  const out = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const { functionName, url } = byId.get(id)!.callFrame;
    // Natives by name: the socket writes both servers pay apart from the rest.
    const key = url ? place(url, functionName) : SOCKET_WRITES.has(functionName) ? 'socket write (syscall)' : functionName.startsWith('(') ? functionName : `${functionName || '?'} (native)`;
    out.set(key, (out.get(key) ?? 0) + us / requests);
  }
  return out;
}

const [baseFile, baseRequests, ownFile, ownRequests] = process.argv.slice(2);
if (!ownRequests) throw new Error('usage: profile-compare.ts <baseline.cpuprofile> <requests> <clicktrail.cpuprofile> <requests>');
const base = microsPerRequest(baseFile!, Number(baseRequests));
const own = microsPerRequest(ownFile!, Number(ownRequests));
const busy = (m: Map<string, number>) => [...m].filter(([k]) => k !== '(idle)').reduce((s, [, v]) => s + v, 0);
console.log(`µs of CPU per request (idle excluded): baseline ${busy(base).toFixed(0)}, clicktrail ${busy(own).toFixed(0)}`);
const keys = [...new Set([...base.keys(), ...own.keys()])].filter((k) => k !== '(idle)');
keys.sort((a, b) => (own.get(b) ?? 0) - (base.get(b) ?? 0) - ((own.get(a) ?? 0) - (base.get(a) ?? 0)));
for (const k of keys.slice(0, 25)) console.log(`${(base.get(k) ?? 0).toFixed(1).padStart(8)} ${(own.get(k) ?? 0).toFixed(1).padStart(8)}  ${k}`);
