/// A room's stream as the shell sees it, for `StreamCursor`'s properties: a log that may be
/// trimmed or rewound, a channel that loses and repeats what it publishes, reads answered or
/// failed at any point, and a link that comes back.
module Chat.Domain.Tests.StreamSimulator

open Chat.Domain

/// What happens next.
type Op =
    /// An entry is appended (`gap` ms after the last id; 0: the same ms, the next seq) and
    /// published `copies` times (0: the channel lost it).
    | Append of gap: int * copies: int
    /// The channel hands over its oldest message.
    | Hear
    /// The oldest outstanding read is answered; `twice`: the same answer comes again, stale.
    | Answer of twice: bool
    | Fail
    | Retry
    | Restore
    /// The stream's last id is read (once, after subscribing)...
    | ReadTail
    /// ...and given to the cursor (at some later point).
    | Start
    /// The log drops up to n of its oldest entries (never its newest, as MAXLEN ~ keeps some).
    | Trim of int
    /// The master fails over to a replica that lacks the last k entries written since the last
    /// rewind (at most: a rewind never reaches behind the one before it).
    | Rewind of int

/// The page size of a read.
let page = 3

type World = {
    /// The entries of the current master, oldest first, trimmed or not: the Prev chain.
    History: StreamEntry<int> list
    /// What a read finds: the history without its trimmed entries.
    Log: StreamEntry<int> list
    /// Every entry ever appended, oldest first.
    Appended: StreamEntry<int> list
    Channel: StreamEntry<int> list
    /// The reads asked for and not answered yet, oldest first.
    Reads: StreamPos list
    RetryDue: bool
    /// The last id as read after subscribing.
    Tail: StreamPos option
    Cursor: Cursor<int>
    /// Every step of the cursor, newest first.
    Steps: Step<int> list
    /// Each rewind's new log end and the ids it lost, newest first.
    Rewinds: (StreamPos * Set<StreamPos>) list
    SinceRewind: int
}

let empty = {
    History = []
    Log = []
    Appended = []
    Channel = []
    Reads = []
    RetryDue = false
    Tail = None
    Cursor = StreamCursor.starting
    Steps = []
    Rewinds = []
    SinceRewind = 0
}

let private logEnd w =
    List.tryLast w.History |> Option.map _.Id |> Option.defaultValue StreamPos.zero

let private apply (c: Cursor<int>, steps: Step<int> list) w = {
    w with
        Cursor = c
        Steps = List.rev steps @ w.Steps
        Reads =
            w.Reads
            @ (steps
               |> List.choose (function
                   | Step.Fetch after -> Some after
                   | _ -> None))
}

let private answer twice w =
    match w.Reads with
    | [] -> w
    | after :: rest ->
        let entries = w.Log |> List.filter (fun e -> e.Id > after) |> List.truncate page
        let reply = StreamCursor.fetched after entries (entries.Length < page)
        let w = apply (reply w.Cursor) { w with Reads = rest }
        if twice then apply (reply w.Cursor) w else w

let step op w =
    match op with
    | Append(gap, copies) ->
        // Ids come from every id ever made, so those after a rewind are new.
        let newest =
            List.tryLast w.Appended |> Option.map _.Id |> Option.defaultValue StreamPos.zero

        let id =
            if gap = 0 then
                StreamPos.next newest
            else
                {
                    Millis = newest.Millis + int64 gap
                    Sequence = 0L
                }

        let e = {
            Id = id
            Prev = logEnd w
            Event = w.Appended.Length
        }

        {
            w with
                History = w.History @ [ e ]
                Log = w.Log @ [ e ]
                Appended = w.Appended @ [ e ]
                Channel = w.Channel @ List.replicate copies e
                SinceRewind = w.SinceRewind + 1
        }
    | Hear ->
        match w.Channel with
        | e :: rest -> apply (StreamCursor.live e w.Cursor) { w with Channel = rest }
        | [] -> w
    | Answer twice -> answer twice w
    | Fail ->
        match w.Reads with
        | _ :: rest -> apply (StreamCursor.fetchFailed w.Cursor) { w with Reads = rest; RetryDue = true }
        | [] -> w
    | Retry when w.RetryDue -> apply (StreamCursor.retry w.Cursor) { w with RetryDue = false }
    | Retry -> w
    | Restore -> apply (StreamCursor.linkRestored w.Cursor) w
    | ReadTail when w.Tail.IsNone -> { w with Tail = Some(logEnd w) }
    | ReadTail -> w
    | Start ->
        match w.Tail with
        | Some tail -> apply (StreamCursor.start tail w.Cursor) w
        | None -> w
    | Trim n -> {
        w with
            Log = List.skip (min n (max 0 (w.Log.Length - 1))) w.Log
      }
    | Rewind k ->
        let k = min k w.SinceRewind
        let kept = w.History.Length - k
        let lost = w.History |> List.skip kept |> List.map _.Id |> Set.ofList

        let w = {
            w with
                History = List.take kept w.History
        }

        if k = 0 then
            w
        else
            {
                w with
                    Log = w.Log |> List.filter (fun e -> not (lost.Contains e.Id))
                    Rewinds = (logEnd w, lost) :: w.Rewinds
                    SinceRewind = 0
            }

let rec private quiesce fuel w =
    let next =
        if not w.Channel.IsEmpty then Some Hear
        elif not w.Reads.IsEmpty then Some(Answer false)
        elif w.RetryDue then Some Retry
        else None

    match next with
    | Some op when fuel > 0 -> quiesce (fuel - 1) (step op w)
    | _ -> w

/// Runs `ops`, then lets everything settle: the start made, something written after the last
/// rewind (else nothing could show it), every message heard, every read answered, the link
/// restored once more for what was missed with nothing after it.
let run (ops: Op list) =
    let w = List.fold (fun w op -> step op w) empty ops |> step ReadTail |> step Start

    let w =
        if not w.Rewinds.IsEmpty && w.SinceRewind = 0 then
            step (Append(1, 1)) w
        else
            w

    w |> quiesce 10000 |> step Restore |> quiesce 10000
