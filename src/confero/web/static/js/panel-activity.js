// A room's activity log on the rooms page (issue 12, F-RC1): for the room's moderators,
// who came and went, what was muted, locked, shared, recorded, ended and reset, with
// time and who, newest first, an older page at a time. The server decides who may read
// it (moderators only); the page only offers the button to them.

import { el } from './dom.js';
import { formatTime, t } from './i18n.js';
import { api } from './panel-api.js';
import { problemText } from './panel-common.js';

const PAGE = 20;

/** The people an entry is about: who did it, and to whom (joins, leaves, knocks). */
function who(detail) {
  const subject = detail.display_name || (detail.participant && detail.participant.display_name);
  return {
    actor: detail.actor_name || subject || t('panel_activity_someone'),
    subject: subject || detail.actor_name || t('panel_activity_someone'),
  };
}

/** The words of one entry: its kind and the detail the server kept. */
export function describe(entry) {
  const d = entry.detail || {};
  const { actor, subject } = who(d);
  const file = (d.file && d.file.name) || d.file_name || '';
  switch (entry.kind) {
    case 'joined': return t('panel_activity_joined', { name: subject });
    case 'left':
      return d.reason === 'kicked' || d.reason === 'removed_by_host'
        ? t('panel_activity_removed', { name: subject })
        : t('panel_activity_left', { name: subject });
    case 'knocked': return t('panel_activity_knocked', { name: subject });
    case 'lobby_left':
      if (d.reason === 'admitted') return t('panel_activity_admitted', { name: subject });
      if (d.reason === 'denied') return t('panel_activity_denied', { name: subject });
      return t('panel_activity_gave_up', { name: subject });
    case 'mute_changed': return t(d.muted ? 'panel_activity_muted' : 'panel_activity_unmuted', { name: actor });
    case 'all_mute_changed':
      return t(d.muted ? 'panel_activity_muted_all' : 'panel_activity_unmuted_all', { name: actor });
    case 'lock_changed': return t(d.locked ? 'panel_activity_locked' : 'panel_activity_unlocked', { name: actor });
    case 'hand_changed': return t(d.raised ? 'panel_activity_hand_raised' : 'panel_activity_hand_lowered', { name: actor });
    case 'invited': return t('panel_activity_invited', { name: actor, number: d.number || '' });
    case 'invite_failed': return t('panel_activity_invite_failed', { number: d.number || '' });
    case 'file_shared':
      return t('panel_activity_file_shared', { name: (d.file && d.file.uploader_name) || actor, file });
    case 'file_deleted': return t('panel_activity_file_deleted', { name: actor, file });
    case 'recording_changed':
      return t(d.recording ? 'panel_activity_recording_started' : 'panel_activity_recording_stopped', { name: actor });
    case 'recording_saved': return t('panel_activity_recording_saved');
    case 'conference_started': return t('panel_activity_conference_started');
    case 'conference_ended': return t('panel_activity_conference_ended');
    case 'room_reset': return t('panel_activity_room_reset', { name: actor });
    default: return entry.kind;
  }
}

function row(entry) {
  return el(
    'li',
    { class: 'activity-entry', dataset: { kind: entry.kind } },
    el('time', { datetime: entry.created_at }, formatTime(entry.created_at)),
    ' ',
    el('span', {}, describe(entry)),
  );
}

/** The Activity button and its list, for a room card (moderators only). */
export function activitySection(room) {
  if (room.your_role !== 'moderator') return null;
  const list = el('ol', { class: 'activity-list', hidden: true });
  const more = el('button', { type: 'button', class: 'button activity-more', hidden: true },
    t('panel_activity_more'));
  const status = el('p', { class: 'hint activity-status', 'aria-live': 'polite' });
  let before = null;

  async function load(reset) {
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (!reset && before !== null) query.set('before', String(before));
    try {
      const page = await api('GET', `/api/v1/rooms/${encodeURIComponent(room.id)}/activity?${query}`);
      if (reset) list.replaceChildren();
      list.append(...page.entries.map(row));
      before = page.next_before;
      more.hidden = before === null;
      status.textContent = list.children.length ? '' : t('panel_activity_empty');
    } catch (error) {
      status.textContent = problemText(error);
    }
  }

  const toggle = el('button', { type: 'button', class: 'button room-activity', 'aria-expanded': 'false' },
    t('panel_activity_title'));
  toggle.addEventListener('click', () => {
    const open = list.hidden;
    list.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    if (open) load(true);
    else more.hidden = true;
  });
  more.addEventListener('click', () => load(false));
  return el('section', { class: 'room-activity-section' }, toggle, status, list, more);
}
