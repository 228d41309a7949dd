/// The four parts of the screen laid out for a size, and the whole screen as text for tests.
module Chat.Client.Screen

open System
open System.Globalization
open Chat.Domain
open Chat.Client.Conversation
open Chat.Client.ChatModel
open Chat.Client.Conversations
open Chat.Client.Panes

let private seg style text : Segment = { Text = text; Style = style }

let private name =
    function
    | Room r -> "#" + RoomName.value r
    | Direct u -> "@" + Username.value u

/// The conversation in view, its newest lines at the bottom (`Scroll` entries back), `rows` rows of `width`.
let messages (m: Model) (width: int) (rows: int) : Row list =
    let c = current m
    let shown = c.Entries |> List.truncate (max 0 (c.Entries.Length - c.Scroll))

    let top =
        match c.Fetching, c.AtStart with
        | Some _, _ -> [ [ seg Dim "-- fetching older messages --" ] ]
        | None, true -> [ [ seg Dim $"-- the beginning of {name c.Target} --" ] ]
        | None, false -> []

    let all = top @ (shown |> List.collect (entryRows m width))
    let visible = all |> List.skip (max 0 (all.Length - rows))
    let blank = List.replicate (rows - visible.Length) []
    blank @ visible |> List.map (fit m >> clip width)

/// Rooms (the one in view marked), direct conversations with unread counts, the room's members.
let side (m: Model) (width: int) (rows: int) : Row list =
    let bar = if m.Ascii then "|" else "│"

    let unread t =
        conversation m t |> Option.map _.Unread |> Option.defaultValue 0

    let item (t: Target) (extra: string) =
        let mark = if m.View = t then ">" else " "
        let n = unread t
        let count = if n > 0 then $" [{n}]" else ""
        let style = if n > 0 then Bold else Plain
        [ seg style (mark + name t + extra + count) ]

    let rooms =
        [
            m.Room
            yield! m.Rooms |> List.map fst
            for c in m.Conversations do
                match c.Target with
                | Room r -> r
                | Direct _ -> ()
        ]
        |> List.distinct
        |> List.sortBy RoomName.value

    // The room the user is in counts its members as presence events come; the others as /rooms last said.
    let members r =
        if r = m.Room && not m.Members.IsEmpty then
            $" ({m.Members.Length})"
        else
            m.Rooms
            |> List.tryFind (fst >> (=) r)
            |> Option.map (fun (_, n) -> $" ({n})")
            |> Option.defaultValue ""

    let directs = [
        for c in m.Conversations do
            match c.Target with
            | Direct _ -> c.Target
            | Room _ -> ()
    ]

    let lines = [
        [ seg Bold "Rooms" ]
        yield! rooms |> List.map (fun r -> item (Room r) (members r))
        if not directs.IsEmpty then
            [ seg Bold "Direct" ]
            yield! directs |> List.map (fun t -> item t "")
        [ seg Bold $"In #{RoomName.value m.Room} ({m.Members.Length})" ]
        yield!
            m.Members
            |> List.map (fun u -> [ seg (Sender(colourOf (Username.value u))) (" " + Username.value u) ])
    ]

    let padded =
        lines @ List.replicate (max 0 (rows - lines.Length)) [] |> List.truncate rows

    padded |> List.map (fun r -> seg Dim bar :: r |> fit m |> clip width)

let private seconds (ms: int64) =
    (float (max 0L ms) / 1000.0).ToString("0", CultureInfo.InvariantCulture)

/// Server, TLS, how the certificate was verified, the connection, who and where.
let status (m: Model) (width: int) : Row =
    let link =
        match m.Link with
        | Connecting -> "connecting"
        | Connected -> "connected"
        | Reconnecting(reason, until, attempt) ->
            $"reconnecting in {seconds (until - m.NowMs)} s (attempt {attempt}): {reason}"

    let who =
        match m.Me with
        | Some u -> $"{Username.value u} in #{RoomName.value m.Room}"
        | None -> "not logged in"

    // Before the server's part, which is the first to be cut on a narrow terminal.
    let more =
        if (current m).Scroll > 0 then
            " | scrolled back: PgDn"
        else
            ""

    let s = m.Server

    let text =
        $" [{link}] {who}{more} | {s.Address} {s.Protocol}, verified by {s.VerifiedBy}"

    [ seg Bar text ]
    |> fit m
    |> clip width
    |> List.map (fun s -> { s with Style = Bar })

/// The prompt and the line being typed, scrolled sideways to keep the cursor in sight; and the cursor's column.
let input (m: Model) (width: int) : Row * int =
    let prompt = $"[{name m.View}] "
    let room = max 1 (width - prompt.Length - 1)
    let e = m.Input
    let start = max 0 (e.Cursor - room)
    let shown = e.Text.Substring(start, min room (e.Text.Length - start))
    let row = [ seg Bold prompt; seg Plain shown ] |> fit m |> clip width
    row, min (width - 1) (prompt.Length + e.Cursor - start)

/// The whole screen as lines of text: the message pane beside the side panel, the status line, the input line.
let render (m: Model) (width: int) (height: int) : string list =
    let rows = max 1 (height - 2)
    let sw = sideWidth width
    let pane = messages m (width - sw) rows |> List.map text

    let sidebar =
        if sw > 0 then
            side m sw rows |> List.map text
        else
            List.replicate rows ""

    [
        yield! List.map2 (+) pane sidebar
        text (status m width)
        text (fst (input m width))
    ]
