import { randomBytes } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import type { Clock } from '../core/clock.ts';
import type { Sentiment } from '../core/inbox.ts';
import type { Slot } from '../core/spike.ts';
import { isDuplicateKeyError, type Repository } from './indexes.ts';

/**
 * Crisis detection's memory: how many inbox items each account received, by sentiment, in
 * ten-minute slots (one document per account per UTC week, so a baseline of several weeks is a
 * few primary-key reads), and the incidents with their timelines.
 */

export const SLOT_MINUTES = 10;
const SLOT_MS = SLOT_MINUTES * 60_000;
const WEEK_MS = 7 * 86_400_000;
/** 1970-01-01 was a Thursday: Monday 00:00 UTC weeks start 4 days later. */
const MONDAY_OFFSET_MS = 4 * 86_400_000;

/** Items received in one ten-minute slot. */
export type SlotCount = Slot;

export type IncidentStatus = 'open' | 'acknowledged' | 'resolved';
export type SignalKind = 'spike' | 'watchlist' | 'reach' | 'vip' | 'model';

export interface IncidentSummary {
  /** From opening to the first acknowledgement, and to resolution. */
  timeToAcknowledgeMs?: number;
  timeToResolveMs: number;
  items: number;
  negative: number;
  pages: number;
  actions: string[];
  cause: string;
}

export interface Incident {
  id: string;
  workspace: string;
  status: IncidentStatus;
  openedAt: Date;
  /** Channel id of the crisis channel, and the incident card there (a serialised ConversationRef). */
  channel: string;
  card?: string;
  accounts: string[];
  /** The kinds of signal seen, in order of arrival (each once). */
  kinds: SignalKind[];
  signals: number;
  /** Volume of the last spike signal against its baseline, for the window it counted. */
  volume?: { observed: number; expected: number; windowMinutes: number };
  /** Items behind the signals, by sentiment, and a few of them to show. */
  sentiment: { negative: number; neutral: number; positive: number };
  samples: string[];
  /** The last escalation step paged (0: the person on call), and how many pages went out in all. */
  step: number;
  pages?: number;
  acknowledgedAt?: Date;
  acknowledgedBy?: string;
  resolvedAt?: Date;
  resolvedBy?: string;
  actions: string[];
  holdingDraftId?: string;
  /** Stored at resolution for the weekly digest. */
  summary?: IncidentSummary;
}

export interface IncidentEvent {
  id: string;
  incidentId: string;
  at: Date;
  kind: 'signal' | 'page' | 'acknowledged' | 'escalated' | 'action' | 'resolved' | 'note';
  text: string;
  by?: string;
}

type Doc<T extends { id: string }> = Omit<T, 'id'> & { _id: string };
const fromDoc = <T extends { id: string }>({ _id, ...rest }: Doc<T>): T => ({ id: _id, ...rest }) as unknown as T;

interface WeekDocument {
  _id: string;
  accountId: string;
  weekStart: Date;
  /** Counts by slot index within the week (as object keys: no nested arrays, no dotted keys). */
  n?: Record<string, number>;
  u?: Record<string, number>;
  p?: Record<string, number>;
}

const weekStartOf = (at: number): number => Math.floor((at - MONDAY_OFFSET_MS) / WEEK_MS) * WEEK_MS + MONDAY_OFFSET_MS;
const weekId = (accountId: string, weekStart: number): string => `${accountId}:${new Date(weekStart).toISOString().slice(0, 10)}`;
const field: Record<Sentiment, 'n' | 'u' | 'p'> = { negative: 'n', neutral: 'u', positive: 'p' };

export const newIncidentId = (): string => `inc-${randomBytes(5).toString('hex')}`;

export interface CrisisStore {
  readonly repositories: readonly Repository[];
  /** Counts received items in their slots (one write per week touched). */
  recordVolumes(accountId: string, items: readonly { at: Date; sentiment: Sentiment }[]): Promise<void>;
  /** Non-empty slots of an account between two instants, oldest first. */
  volumes(accountId: string, from: Date, to: Date): Promise<SlotCount[]>;
  /** Deletes the slot documents of weeks that ended before the cutoff; returns how many. */
  purgeVolumesBefore(cutoff: Date): Promise<number>;

  /**
   * Opens an incident for the workspace unless one is open: the workspace's slot document is the
   * guard (its _id is the workspace), so two signals at once open one incident. Returns the open
   * incident's id and whether this call opened it.
   */
  claimOpen(workspace: string, incidentId: string): Promise<{ incidentId: string; opened: boolean }>;
  /** Frees the workspace's slot (at resolution), only if it still names this incident, and notes when. */
  releaseOpen(workspace: string, incidentId: string): Promise<void>;
  /** When the workspace's last incident was resolved. */
  lastResolvedAt(workspace: string): Promise<Date | undefined>;
  insert(incident: Incident): Promise<boolean>;
  get(id: string): Promise<Incident | null>;
  update(id: string, changes: Partial<Omit<Incident, 'id'>>): Promise<void>;
  /** Moves an incident from one status to another; false when it was not in `from` any more. */
  transition(id: string, from: readonly IncidentStatus[], changes: Partial<Omit<Incident, 'id'>> & { status: IncidentStatus }): Promise<boolean>;
  /** Incidents opened in [from, to), oldest first (the digest's incident figures). */
  openedBetween(workspace: string, from: Date, to: Date): Promise<Incident[]>;
  /** The workspace's open incident, if any. */
  openIncident(workspace: string): Promise<string | undefined>;
  /** Adds a signal: its kind, account, sample items (capped) and, for a spike, the volume figures. */
  addSignal(id: string, signal: { kind: SignalKind; accountId: string; samples: readonly string[]; volume?: Incident['volume'] }): Promise<void>;
  /** Counts inbox items that arrived while the incident is open, by sentiment. */
  countItems(id: string, counts: { negative: number; neutral: number; positive: number }): Promise<void>;
  countPages(id: string, pages: number): Promise<void>;
  addAction(id: string, action: string): Promise<void>;

  addEvent(event: Omit<IncidentEvent, 'id' | 'at'> & { at?: Date }): Promise<IncidentEvent>;
  /** Deletes timeline entries (they name authors) and the sample items of incidents older than the cutoff. */
  purgeTimelinesBefore(cutoff: Date): Promise<number>;
  timeline(incidentId: string): Promise<IncidentEvent[]>;
}

const MAX_SAMPLES = 5;

export function createCrisisStore(db: Db, clock: Clock): CrisisStore {
  const weeks: Collection<WeekDocument> = db.collection('crisis_volumes');
  const incidents: Collection<Doc<Incident>> = db.collection('incidents');
  const slots: Collection<{ _id: string; incidentId: string; at: Date }> = db.collection('incident_slots');
  const events: Collection<Doc<IncidentEvent>> = db.collection('incident_events');

  return {
    repositories: [
      { collectionName: 'crisis_volumes', indexes: [{ key: { weekStart: 1 }, name: 'crisis_volumes_week' }] },
      { collectionName: 'incidents', indexes: [{ key: { workspace: 1, openedAt: 1 }, name: 'incidents_workspace_opened' }] },
      { collectionName: 'incident_slots', indexes: [] },
      { collectionName: 'incident_events', indexes: [{ key: { incidentId: 1, at: 1 }, name: 'incident_events_timeline' }] },
    ],

    async recordVolumes(accountId, items) {
      const byWeek = new Map<number, Record<string, number>>();
      for (const { at, sentiment } of items) {
        const start = weekStartOf(at.getTime());
        const slot = Math.floor((at.getTime() - start) / SLOT_MS);
        const inc = byWeek.get(start) ?? {};
        const key = `${field[sentiment]}.${slot}`;
        inc[key] = (inc[key] ?? 0) + 1;
        byWeek.set(start, inc);
      }
      if (byWeek.size === 0) return;
      await weeks.bulkWrite(
        [...byWeek].map(([start, inc]) => ({
          updateOne: { filter: { _id: weekId(accountId, start) }, update: { $inc: inc, $setOnInsert: { accountId, weekStart: new Date(start) } }, upsert: true },
        })),
        { ordered: false },
      );
    },

    async volumes(accountId, from, to) {
      const ids: string[] = [];
      for (let start = weekStartOf(from.getTime()); start < to.getTime(); start += WEEK_MS) ids.push(weekId(accountId, start));
      // One primary-key read per week (a $in would make FerretDB read the whole collection).
      const docs = (await Promise.all(ids.map((id) => weeks.findOne({ _id: id })))).filter((doc): doc is WeekDocument => doc !== null);
      const counts = new Map<number, SlotCount>();
      for (const doc of docs) {
        const base = doc.weekStart.getTime();
        for (const [sentiment, key] of Object.entries(field) as [Sentiment, 'n' | 'u' | 'p'][]) {
          for (const [slot, count] of Object.entries(doc[key] ?? {})) {
            const start = base + Number(slot) * SLOT_MS;
            if (start < from.getTime() || start >= to.getTime()) continue;
            const entry = counts.get(start) ?? { start: new Date(start), negative: 0, neutral: 0, positive: 0 };
            entry[sentiment] += count;
            counts.set(start, entry);
          }
        }
      }
      return [...counts.values()].sort((a, b) => a.start.getTime() - b.start.getTime());
    },

    async purgeVolumesBefore(cutoff) {
      const result = await weeks.deleteMany({ weekStart: { $lt: new Date(cutoff.getTime() - WEEK_MS) } });
      return result.deletedCount;
    },

    async claimOpen(workspace, incidentId) {
      try {
        await slots.insertOne({ _id: workspace, incidentId, at: clock.now() });
        return { incidentId, opened: true };
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
        const open = await slots.findOne({ _id: workspace });
        // Released in between: try once more, the next signal would otherwise be lost.
        if (!open) return this.claimOpen(workspace, incidentId);
        return { incidentId: open.incidentId, opened: false };
      }
    },

    async releaseOpen(workspace, incidentId) {
      await slots.updateOne({ _id: `resolved:${workspace}` }, { $set: { incidentId, at: clock.now() } }, { upsert: true });
      await slots.deleteOne({ _id: workspace, incidentId });
    },

    async lastResolvedAt(workspace) {
      return (await slots.findOne({ _id: `resolved:${workspace}` }))?.at;
    },

    async insert(incident) {
      const { id, ...rest } = incident;
      try {
        await incidents.insertOne({ _id: id, ...rest });
        return true;
      } catch (error) {
        if (isDuplicateKeyError(error)) return false;
        throw error;
      }
    },

    async get(id) {
      const found = await incidents.findOne({ _id: id });
      return found ? fromDoc<Incident>(found) : null;
    },

    async update(id, changes) {
      await incidents.updateOne({ _id: id }, { $set: changes });
    },

    async transition(id, from, changes) {
      const result = await incidents.updateOne({ _id: id, status: { $in: [...from] } }, { $set: changes });
      return result.modifiedCount === 1;
    },

    async openedBetween(workspace, from, to) {
      const found = await incidents.find({ workspace, openedAt: { $gte: from, $lt: to } }).sort({ openedAt: 1 }).toArray();
      return found.map((doc) => fromDoc<Incident>(doc));
    },
    async openIncident(workspace) {
      return (await slots.findOne({ _id: workspace }))?.incidentId;
    },

    async addSignal(id, signal) {
      // Samples are capped, so they are read first; kinds and accounts are sets the server keeps.
      const current = await incidents.findOne({ _id: id }, { projection: { samples: 1 } });
      const samples = [...new Set([...(current?.samples ?? []), ...signal.samples])].slice(0, MAX_SAMPLES);
      await incidents.updateOne(
        { _id: id },
        { $inc: { signals: 1 }, $set: { samples, ...(signal.volume ? { volume: signal.volume } : {}) }, $addToSet: { kinds: signal.kind, accounts: signal.accountId } },
      );
    },

    async countItems(id, counts) {
      await incidents.updateOne({ _id: id }, { $inc: { 'sentiment.negative': counts.negative, 'sentiment.neutral': counts.neutral, 'sentiment.positive': counts.positive } });
    },

    async countPages(id, pages) {
      await incidents.updateOne({ _id: id }, { $inc: { pages } });
    },

    async addAction(id, action) {
      await incidents.updateOne({ _id: id }, { $addToSet: { actions: action } });
    },

    async addEvent(input) {
      const event: IncidentEvent = { id: `ev-${randomBytes(6).toString('hex')}`, at: input.at ?? clock.now(), incidentId: input.incidentId, kind: input.kind, text: input.text, ...(input.by ? { by: input.by } : {}) };
      const { id, ...rest } = event;
      await events.insertOne({ _id: id, ...rest });
      return event;
    },

    async purgeTimelinesBefore(cutoff) {
      await incidents.updateMany({ openedAt: { $lt: cutoff } }, { $set: { samples: [] } });
      return (await events.deleteMany({ at: { $lt: cutoff } })).deletedCount;
    },

    async timeline(incidentId) {
      return (await events.find({ incidentId }).sort({ at: 1 }).toArray()).map((d) => fromDoc<IncidentEvent>(d));
    },
  };
}
