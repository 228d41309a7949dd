/// The lines sent before, recalled with Up and Down as in a shell; what was being typed comes back after the newest.
module Chat.Client.InputHistory

open System

type History = {
    /// Newest first.
    Past: string list
    /// Which past line is shown: None, the line being typed.
    Shown: int option
    /// The line being typed when Up was first pressed.
    Draft: string
}

/// Enough for a session; older lines are dropped.
[<Literal>]
let Capacity = 500

let empty = { Past = []; Shown = None; Draft = "" }

/// A line that logs in carries a password or a token: never kept.
let private secret (line: string) =
    let line = line.TrimStart()

    [ "LOGIN "; "REGISTER "; "RESUME " ]
    |> List.exists (fun p -> line.StartsWith(p, StringComparison.OrdinalIgnoreCase))

/// A line sent: it becomes the newest, unless it repeats the newest.
let add (line: string) (h: History) =
    let past =
        match h.Past with
        | _ when String.IsNullOrWhiteSpace line || secret line -> h.Past
        | newest :: _ when newest = line -> h.Past
        | past -> line :: past |> List.truncate Capacity

    {
        Past = past
        Shown = None
        Draft = ""
    }

/// Up: the previous line, or None at the oldest (nothing changes).
let older (current: string) (h: History) : (History * string) option =
    let next = h.Shown |> Option.map ((+) 1) |> Option.defaultValue 0

    match List.tryItem next h.Past with
    | None -> None
    | Some line ->
        let draft = if h.Shown.IsNone then current else h.Draft

        Some(
            {
                h with
                    Shown = Some next
                    Draft = draft
            },
            line
        )

/// Down: the next newer line, or the draft after the newest; None when the draft is shown already.
let newer (h: History) : (History * string) option =
    match h.Shown with
    | None -> None
    | Some 0 -> Some({ h with Shown = None }, h.Draft)
    | Some i -> Some({ h with Shown = Some(i - 1) }, h.Past[i - 1])
