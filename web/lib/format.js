// format.js -- dates, durations and labels as people read them (the browser's locale and
// time zone; the API speaks UTC RFC 3339).
const dt = new Intl.DateTimeFormat(undefined, {dateStyle: 'medium', timeStyle: 'short'});
const d = new Intl.DateTimeFormat(undefined, {dateStyle: 'medium'});

export function when(iso) { return iso ? dt.format(new Date(iso)) : '—'; }
export function day(iso) { return iso ? d.format(new Date(iso)) : '—'; }

// "in 3 h 20 min" / "12 min ago"
export function relative(iso, now = Date.now()) {
  if (!iso) return '';
  const s = Math.round((new Date(iso).getTime() - now) / 1000);
  const a = Math.abs(s);
  const text = a < 60 ? `${a} s` : a < 3600 ? `${Math.round(a / 60)} min`
    : a < 86400 ? `${Math.floor(a / 3600)} h ${Math.round((a % 3600) / 60)} min` : `${Math.round(a / 86400)} d`;
  return s >= 0 ? `in ${text}` : `${text} ago`;
}

export function minutes(n) {
  if (n === undefined || n === null) return '—';
  return n < 60 ? `${n} min` : `${Math.floor(n / 60)} h${n % 60 ? ` ${n % 60} min` : ''}`;
}

export const label = (s) => (s || '').replace(/_/g, ' ');
