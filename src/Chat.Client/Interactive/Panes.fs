/// The screen as rows of styled text, for a given size: the message pane, the side panel (rooms, direct
/// conversations, members), the status line and the input line. Pure: the shell paints the rows as they are,
/// and tests read them as text.
module Chat.Client.Panes

open System
open System.Text
open Chat.Domain
open Chat.Client.Conversation
open Chat.Client.ChatModel

type Style =
    | Plain
    | Dim
    | Bold
    | Alert
    /// A sender's name: one of `Palette` colours.
    | Sender of colour: int
    /// The status line.
    | Bar

type Segment = { Text: string; Style: Style }
type Row = Segment list

/// Colours a sender's name can have.
[<Literal>]
let Palette = 6

/// FNV-1a of the name's UTF-8 bytes: the same colour for a name in every session (string hashes are seeded per
/// process).
let colourOf (name: string) =
    let mutable h = 2166136261u

    for b in Encoding.UTF8.GetBytes(name.ToLowerInvariant()) do
        h <- (h ^^^ uint32 b) * 16777619u

    int (h % uint32 Palette)

/// What a terminal without UTF-8 can show: each character outside ASCII becomes `?`.
let asciiOnly (s: string) =
    if s |> Seq.forall (fun c -> int c < 128) then
        s
    else
        let b = StringBuilder()

        for r in s.EnumerateRunes() do
            b.Append(if r.Value < 128 then char r.Value else '?') |> ignore

        b.ToString()

let private seg style text = { Text = text; Style = style }

let fit (m: Model) (row: Row) : Row =
    row
    |> List.map (fun s -> {
        s with
            Text = if m.Ascii then asciiOnly s.Text else s.Text
            Style =
                match s.Style with
                | Sender _ when not m.Colour -> Bold
                | st -> st
    })

/// Cut or padded to exactly `width` characters.
let clip (width: int) (row: Row) : Row =
    let rec go left acc =
        function
        | [] when left > 0 -> List.rev (seg Plain (String(' ', left)) :: acc)
        | [] -> List.rev acc
        | _ when left <= 0 -> List.rev acc
        | s :: rest when s.Text.Length <= left -> go (left - s.Text.Length) (s :: acc) rest
        | s :: _ ->
            List.rev (
                {
                    s with
                        Text = s.Text.Substring(0, left)
                }
                :: acc
            )

    go width [] row

let text (row: Row) =
    row |> List.map _.Text |> String.concat ""

/// The side panel's width: none on a terminal too narrow for it.
let sideWidth (width: int) = if width >= 60 then 20 else 0

let private time (m: Model) (ms: int64) =
    let t = Render.clock m.Zone ms
    if t.Length >= 5 then t.Substring(0, 5) else t

/// One entry as rows of `width`, continuation rows indented under the text.
let entryRows (m: Model) (width: int) (e: Entry) : Row list =
    let head = [
        seg Dim (time m e.At + " ")
        match e.From with
        | Some u -> seg (Sender(colourOf (Username.value u))) $"<{Username.value u}>"
        | None -> ()
    ]

    let prefix = head |> List.sumBy _.Text.Length
    let body = (if e.From.IsSome then " " else "") + e.Text
    let style = if e.Kind = Failure then Alert else Plain
    let first = max 1 (width - prefix)
    let indent = min 6 (max 0 (width - 1))
    let rest = max 1 (width - indent)

    let rec chunks (s: string) n =
        if s.Length <= n then
            [ s ]
        else
            s.Substring(0, n) :: chunks (s.Substring n) rest

    match chunks body first with
    | [] -> [ head ]
    | f :: more ->
        (head @ [ seg style f ])
        :: (more |> List.map (fun c -> [ seg Plain (String(' ', indent)); seg style c ]))

/// NO_COLOR (no-color.org): set and not empty, no colour at all.
let colourWanted (env: string -> string) = String.IsNullOrEmpty(env "NO_COLOR")

/// Whether the terminal takes UTF-8, as the C library decides it: the first of LC_ALL, LC_CTYPE, LANG that is
/// set names the character set; none (the C locale) is ASCII.
let utf8Locale (env: string -> string) =
    match
        [ "LC_ALL"; "LC_CTYPE"; "LANG" ]
        |> List.map env
        |> List.tryFind (String.IsNullOrEmpty >> not)
    with
    | Some locale ->
        let l = locale.ToLowerInvariant()
        l.Contains "utf-8" || l.Contains "utf8"
    | None -> false
