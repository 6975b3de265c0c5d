// What a workspace's status means to a person. The function that composes
// workspaces reports a KEDA-scaled workload as ready with the message
// "scaled to zero", so "asleep" is read from status.resources (and, as a
// fallback, from the conditions' messages; never from the SRE assistant's
// Incident condition, whose diagnosis is free text from an LLM).

const ASLEEP = /scaled to zero/i;

function condition(ws, type) {
  return ((ws.status && ws.status.conditions) || []).find((c) => c.type === type);
}

// state is the one-word status: Deleting, Sync failed, Ready or Syncing.
export function state(ws) {
  const st = ws.status || {};
  if (ws.deleting) return { label: 'Deleting', tone: 'neutral', settled: false };
  const synced = condition(ws, 'Synced');
  if (synced && synced.status === 'False') {
    return { label: 'Sync failed', tone: 'bad', settled: false, message: synced.message || synced.reason };
  }
  if (st.ready) return { label: 'Ready', tone: 'good', settled: true };
  const ready = condition(ws, 'Ready');
  return { label: 'Syncing', tone: 'warn', settled: false, message: ready && (ready.message || ready.reason) };
}

// asleep reports true (scaled to zero), false (awake) or null (unknown:
// nothing runs yet, or the platform reported nothing).
export function asleep(ws) {
  const st = ws.status || {};
  const workloads = (st.resources || []).filter((r) => r.kind === 'Deployment' || r.kind === 'StatefulSet');
  if (workloads.some((r) => ASLEEP.test(r.message || ''))) return true;
  if ((st.conditions || []).some((c) => c.type !== 'Incident' && ASLEEP.test(c.message || ''))) return true;
  if (workloads.length && workloads.every((r) => r.ready)) return false;
  return st.ready ? false : null;
}

// models is [ready, total]: status.modelsReady when reported, else counted
// from status.models, else 0 of what the spec asks for.
export function models(ws) {
  const st = ws.status || {};
  const m = /^(\d+)\/(\d+)$/.exec(st.modelsReady || '');
  if (m) return [Number(m[1]), Number(m[2])];
  if (st.models && st.models.length) return [st.models.filter((x) => x.state === 'Ready').length, st.models.length];
  const spec = ws.spec || {};
  return [0, (spec.models || []).length + (spec.assistants || []).length];
}

// apiBase is where the workspace's LLM API is reached: status.apiUrl when
// the platform configured the gateway, else the portal's own gateway path.
export function apiBase(ws) {
  const u = ws.status && ws.status.apiUrl;
  return (u || `${location.origin}/llm/${ws.name}`).replace(/\/+$/, '');
}
