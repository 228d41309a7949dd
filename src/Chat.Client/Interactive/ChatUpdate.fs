/// `update`: one event to the next model and the effects to carry out. Arriving lines never touch the input line.
module Chat.Client.ChatUpdate

open Chat.Domain
open Chat.Client.Conversation
open Chat.Client.ChatModel
open Chat.Client.Conversations

/// Message pane rows: the screen without the status and input lines.
let paneRows (m: Model) = max 1 (m.Height - 2)

let private page (m: Model) = max 1 (paneRows m - 1)

let private edit (f: LineEditor.Editor -> LineEditor.Editor) (m: Model) =
    {
        m with
            Input = f m.Input
            Cycle = None
    },
    []

/// PgUp: back a page; at the top of a room's lines, its older history is asked for once.
let private scrollBack (m: Model) : Model * Effect list =
    let c = current m
    let count = c.Entries.Length
    let wanted = c.Scroll + page m
    // No further back than the oldest line near the top of the pane (a row above it for "fetching" or "the
    // beginning"): lines that fit all show at once.
    let scroll = min (max 0 (count - paneRows m + 1)) wanted
    let atTop = wanted + paneRows m >= count
    let m = withConversation m.View (fun c -> { c with Scroll = scroll }) m

    match m.View with
    | Room r when r = m.Room && atTop && c.Fetching.IsNone && not c.AtStart ->
        let ask =
            match oldestId c with
            | Some id -> $"/history before {StreamPos.render id} {Delivery.HistoryPage}"
            | None -> $"/history {Delivery.HistoryPage}"

        withConversation m.View (fun c -> { c with Fetching = Some [] }) m, [ Send ask ]
    | _ -> m, []

let private scrollForward (m: Model) =
    withConversation
        m.View
        (fun c -> {
            c with
                Scroll = max 0 (c.Scroll - page m)
        })
        m,
    []

/// Ctrl-N / Ctrl-P: the conversations in the order they were opened, round.
let private cycle (step: int) (m: Model) =
    let targets = m.Conversations |> List.map _.Target

    match List.tryFindIndex ((=) m.View) targets with
    | Some i ->
        let n = targets.Length
        show targets[((i + step) % n + n) % n] m, []
    | None -> m, []

let private enter (nowMs: int64) (m: Model) =
    let line = m.Input.Text

    let m = {
        m with
            Input = LineEditor.empty
            History = InputHistory.add line m.History
            Cycle = None
    }

    UserInput.submit nowMs line m

/// A line recalled from the input history replaces the input; nothing to recall leaves it.
let private recall (recalled: (InputHistory.History * string) option) (m: Model) =
    match recalled with
    | Some(h, line) ->
        {
            m with
                History = h
                Input = LineEditor.ofText line
                Cycle = None
        },
        []
    | None -> m, []

let private key (k: Key) (m: Model) : Model * Effect list =
    match k with
    | Text s -> edit (LineEditor.insert s) m
    | Backspace -> edit LineEditor.backspace m
    | Delete -> edit LineEditor.delete m
    | Left -> edit LineEditor.left m
    | Right -> edit LineEditor.right m
    | Home -> edit LineEditor.home m
    | End -> edit LineEditor.end' m
    | KillToStart -> edit LineEditor.killToStart m
    | KillToEnd -> edit LineEditor.killToEnd m
    | KillWord -> edit LineEditor.killWord m
    | Up -> recall (InputHistory.older m.Input.Text m.History) m
    | Down -> recall (InputHistory.newer m.History) m
    | Tab ->
        match Completion.tab (names m) m.Cycle m.Input with
        | Some(input, c) -> { m with Input = input; Cycle = Some c }, []
        | None -> m, []
    | Enter -> enter m.NowMs m
    | PageUp -> scrollBack m
    | PageDown -> scrollForward m
    | NextView -> cycle 1 m
    | PrevView -> cycle -1 m
    | Interrupt -> m, [ Quit ]

let update (event: Event) (m: Model) : Model * Effect list =
    match event with
    | Line(raw, now) -> ServerEvents.apply now raw { m with NowMs = now }
    | Note(text, now) -> notice Notice now text { m with NowMs = now }, []
    | Pressed k -> key k m
    | Ready room ->
        let m, effects = Delivery.entered room { m with Link = Connected }
        { m with QuietRooms = m.QuietRooms + 1 }, effects @ [ Send "/rooms" ]
    | Opened -> { m with Link = Connected }, []
    | Retrying(reason, wait, attempt, now) ->
        {
            m with
                NowMs = now
                Link = Reconnecting(reason, now + int64 wait.TotalMilliseconds, attempt)
        },
        []
    | Tick now -> { m with NowMs = now }, []
    | Resized(w, h) ->
        {
            m with
                Width = max 1 w
                Height = max 3 h
        },
        []
