namespace Chat.Domain

open System
open System.Globalization

/// A Redis stream entry id `<ms>-<seq>`. Field order is the order: milliseconds, then sequence.
[<Struct>]
type StreamPos = { Millis: int64; Sequence: int64 }

module StreamPos =
    /// `0-0`: before any entry, the position of a cursor on an empty stream.
    let zero = { Millis = 0L; Sequence = 0L }

    /// The number written by `text[from..until-1]`: ASCII digits only, at least one, no sign and
    /// no space (Int64.TryParse would take both), None past Int64.MaxValue.
    let private number (text: string) (from: int) (until: int) =
        let mutable n = 0L
        let mutable ok = from < until
        let mutable i = from

        while ok && i < until do
            let d = int64 text[i] - int64 '0'

            if d < 0L || d > 9L || n > (Int64.MaxValue - d) / 10L then
                ok <- false
            else
                n <- n * 10L + d

            i <- i + 1

        if ok then ValueSome n else ValueNone

    /// Digits, `-`, digits; anything else (a Redis reply is input) is None. Read on every
    /// message a stream delivers: no split, no intermediate strings.
    let tryParse (text: string) =
        let dash = if isNull text then -1 else text.IndexOf '-'

        if dash < 0 then
            None
        else
            match number text 0 dash, number text (dash + 1) text.Length with
            | ValueSome m, ValueSome s -> Some { Millis = m; Sequence = s }
            | _ -> None

    /// `<ms>-<seq>`; without the formatting machinery of interpolated strings (every message).
    let render p =
        String.Concat(
            p.Millis.ToString CultureInfo.InvariantCulture,
            "-",
            p.Sequence.ToString CultureInfo.InvariantCulture
        )

    /// The smallest id after `p`: where an inclusive range read of the entries after `p` starts.
    let next p =
        if p.Sequence < Int64.MaxValue then
            { p with Sequence = p.Sequence + 1L }
        else
            { zero with Millis = p.Millis + 1L }

/// One stream entry. `Prev` is the id that was the stream's last when this one was appended
/// (zero for the first): it is what lets a reader tell a gap from a rewind.
type StreamEntry<'e> = {
    Id: StreamPos
    Prev: StreamPos
    Event: 'e
}

/// What the shell does for a cursor, in order. Qualified: `Deliver` is also a routing delivery.
[<RequireQualifiedAccess>]
type Step<'e> =
    | Deliver of StreamEntry<'e>
    /// Read the entries with id > after, oldest first, at most one page.
    | Fetch of after: StreamPos
    /// The entries after `after` up to and including `upTo` were trimmed before they were read.
    | Lost of after: StreamPos * upTo: StreamPos
    /// The log no longer holds what was delivered after `logEnd` up to `delivered` (a failover lost
    /// writes). Nothing is delivered twice; what comes next continues from the new log.
    | Rewound of delivered: StreamPos * logEnd: StreamPos

/// One stream's sequencing: live entries from the channel, gaps read back from the log.
type Cursor<'e> =
    private
    /// Subscribed, the stream's tail not read yet: live entries wait for it.
    | Starting of held: Map<StreamPos, StreamEntry<'e>>
    /// Invariant: not fetching implies nothing held (a held entry always has a read on its way).
    | Running of last: StreamPos * held: Map<StreamPos, StreamEntry<'e>> * fetching: bool

module StreamCursor =
    let starting<'e> : Cursor<'e> = Starting Map.empty

    /// From `last` to an entry after it (steps reversed). A Prev before `last` was written after
    /// `last` was gone: the log was rewound behind us. A Prev after it, in a read, was trimmed.
    let private onto last (e: StreamEntry<'e>) steps =
        if e.Prev = last then
            Step.Deliver e :: steps
        elif e.Prev < last then
            Step.Deliver e :: Step.Rewound(last, e.Prev) :: steps
        else
            Step.Deliver e :: Step.Lost(last, e.Prev) :: steps

    /// Deliver held entries in id order while they follow `last`; stop at the first gap.
    let rec private drain last (held: Map<StreamPos, StreamEntry<'e>>) steps =
        match Seq.tryHead held with
        | None -> last, held, steps
        | Some(KeyValue(id, _)) when id <= last -> drain last (Map.remove id held) steps
        | Some(KeyValue(id, e)) when e.Prev <= last -> drain id (Map.remove id held) (onto last e steps)
        | Some _ -> last, held, steps

    /// Drain, then read back the gap before whatever is still held. `steps` is reversed.
    let private resume last held steps =
        let last, held, steps = drain last held steps
        let fetching = not held.IsEmpty
        Running(last, held, fetching), List.rev (if fetching then Step.Fetch last :: steps else steps)

    /// The stream's last id, read right after subscribing (zero when empty).
    let start (tail: StreamPos) (c: Cursor<'e>) =
        match c with
        | Starting held -> resume tail held []
        | Running _ -> c, []

    /// An entry from the channel: in order, a duplicate, after a gap, or after a rewind.
    let live (entry: StreamEntry<'e>) (c: Cursor<'e>) =
        match c with
        | Starting held -> Starting(Map.add entry.Id entry held), []
        | Running(last, _, _) when entry.Id <= last -> c, []
        // The answer on its way decides what the held entry follows.
        | Running(last, held, true) -> Running(last, Map.add entry.Id entry held, true), []
        // The common case, in order with nothing held: no map is touched.
        | Running(last, held, false) when entry.Prev = last && held.IsEmpty ->
            Running(entry.Id, held, false), [ Step.Deliver entry ]
        | Running(last, held, false) -> resume last (Map.add entry.Id entry held) []

    /// The answer to `Fetch after`; `complete` when it is shorter than a page (the log's end).
    let fetched (after: StreamPos) (entries: StreamEntry<'e> list) (complete: bool) (c: Cursor<'e>) =
        match c with
        | Running(last, held, _) when after = last ->
            let last, steps =
                ((last, []), entries)
                ||> List.fold (fun (l, s) e -> if e.Id <= l then l, s else e.Id, onto l e s)
            // An empty page ends the read whatever the shell counted. After the log's end, what is
            // still held and does not follow was appended since the read began: read again, not lost.
            if complete || List.isEmpty entries then
                resume last held steps
            else
                Running(last, held, true), List.rev (Step.Fetch last :: steps)
        // Stale: an answer for a position the cursor has moved from.
        | _ -> c, []

    /// A read failed: it stays outstanding, so nothing else asks for it until `retry`.
    let fetchFailed (c: Cursor<'e>) : Cursor<'e> * Step<'e> list = c, []

    /// After a delay the shell chooses: ask again for the read that failed.
    let retry (c: Cursor<'e>) =
        match c with
        | Running(last, _, true) -> c, [ Step.Fetch last ]
        | _ -> c, []

    /// The subscription came back: entries may have been missed with nothing after them to show it.
    let linkRestored (c: Cursor<'e>) =
        match c with
        | Running(last, held, false) -> Running(last, held, true), [ Step.Fetch last ]
        | _ -> c, []

    /// The last id delivered (or the tail started from); None before the start.
    let last (c: Cursor<'e>) =
        match c with
        | Starting _ -> None
        | Running(l, _, _) -> Some l

    /// Nothing held and no read outstanding.
    let isIdle (c: Cursor<'e>) =
        match c with
        | Running(_, held, false) -> Map.isEmpty held
        | _ -> false
