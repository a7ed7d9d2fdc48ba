// Wall times in the account's time zone (F-RS8): a `datetime-local` field has no zone,
// so the form reads it as a wall time in the account's zone and sends an ISO string with
// that zone's offset at that moment (DST included). Intl knows the zone rules; nothing
// here depends on the browser's own zone.

const formatters = new Map();

/** The zone if Intl knows it, else UTC (an unknown zone must not break the page). */
export function safeZone(zone) {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone;
  } catch {
    return 'UTC';
  }
}

function partsFormatter(zone) {
  if (!formatters.has(zone)) {
    formatters.set(
      zone,
      new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      }),
    );
  }
  return formatters.get(zone);
}

/** The zone's offset from UTC in minutes at instant `ms` (+60 for Amsterdam in winter). */
export function offsetMinutes(zone, ms) {
  const parts = {};
  for (const part of partsFormatter(zone).formatToParts(new Date(ms))) parts[part.type] = part.value;
  const asUtc = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour) % 24,
    Number(parts.minute),
    Number(parts.second),
  );
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60000);
}

/** "2026-11-02T10:15" as if it were UTC, in ms; null when it is not such a value. */
function parseWall(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(String(value || ''));
  if (!m) return null;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
}

/** The instant (ms) a wall time in `zone` names. A time the clocks skip (spring
 * forward) moves on by the gap; a time that happens twice (fall back) is the later. */
export function wallToInstant(value, zone) {
  const wall = parseWall(value);
  if (wall === null) return null;
  const first = offsetMinutes(zone, wall);
  let instant = wall - first * 60000;
  const second = offsetMinutes(zone, instant);
  if (second !== first) instant = wall - second * 60000;
  return instant;
}

function pad(n) {
  return String(n).padStart(2, '0');
}

/** An instant as ISO 8601 with the zone's offset: "2026-11-02T10:15:00+01:00". */
export function isoWithOffset(ms, zone) {
  const offset = offsetMinutes(zone, ms);
  const local = new Date(ms + offset * 60000).toISOString().slice(0, 19);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${local}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** The wall time of an instant in `zone`, as a `datetime-local` value. */
export function instantToWall(ms, zone) {
  return new Date(ms + offsetMinutes(zone, ms) * 60000).toISOString().slice(0, 16);
}

/** "2 Nov 2026, 10:15 – 11:15" in the page language and the account's zone. */
export function formatRange(startIso, endIso, zone, lang) {
  const start = new Date(startIso);
  const end = new Date(endIso);
  const format = new Intl.DateTimeFormat(lang, {
    timeZone: zone,
    dateStyle: 'medium',
    timeStyle: 'short',
  });
  return typeof format.formatRange === 'function'
    ? format.formatRange(start, end)
    : `${format.format(start)} – ${format.format(end)}`;
}

export function formatInstant(ms, zone, lang) {
  return new Intl.DateTimeFormat(lang, {
    timeZone: zone,
    dateStyle: 'medium',
    timeStyle: 'short',
  }).format(new Date(ms));
}
