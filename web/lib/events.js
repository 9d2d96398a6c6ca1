// events.js -- live record events from /v1/events (Server-Sent Events), shared by every
// page: one EventSource, handlers added by pages and dropped when the page changes.
// The event types of the stream (README: live events); `resync` means refetch.
const TYPES = ['record.created', 'record.updated', 'record.transitioned', 'record.event',
               'change.submitted', 'change.scheduled', 'change.rescheduled',
               'change.schedule_flagged', 'change.window_opened', 'record.commented', 'resync'];
let source = null;
const handlers = new Set();

export function onRecordEvent(fn) {
  handlers.add(fn);
  if (!source) connect();
  return () => handlers.delete(fn);
}

function connect() {
  source = new EventSource('/v1/events', {withCredentials: true});
  const deliver = (ev) => {
    let data = null;
    try { data = JSON.parse(ev.data); } catch (e) { return; }
    for (const fn of [...handlers]) fn(data, ev.type);
  };
  source.onmessage = deliver;
  for (const t of TYPES) source.addEventListener(t, deliver);
  source.onerror = () => {
    document.dispatchEvent(new CustomEvent('transom-live', {detail: source.readyState}));
  };
  source.onopen = () => document.dispatchEvent(new CustomEvent('transom-live', {detail: 1}));
}

export function closeEvents() {
  if (source) source.close();
  source = null;
  handlers.clear();
}

// A page left for another keeps its stream open in the back/forward cache, and Chrome
// gives a site six connections: a few pages back, the next page's API calls waited for a
// cached page's stream to time out.  Close it when the page is hidden, reopen on return.
window.addEventListener('pagehide', () => {
  if (source) source.close();
  source = null;
});
window.addEventListener('pageshow', (ev) => {
  if (ev.persisted && handlers.size && !source) connect();
});
