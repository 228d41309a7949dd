/// Tab completion of the word before the cursor: commands, user names, room names, by what the line says so far.
/// Tab again cycles through the candidates, as irssi does.
module Chat.Client.Completion

open System
open Chat.Client.LineEditor

/// The commands the interactive client knows, its own and those it passes to the server.
let commands = [
    "/help"
    "/history"
    "/join"
    "/leave"
    "/msg"
    "/query"
    "/quit"
    "/rooms"
    "/users"
    "/who"
]

/// Names to complete from.
type Names = {
    Users: string list
    Rooms: string list
}

/// A completion in progress: Tab again replaces `Inserted` by the next candidate.
type Cycle = {
    Start: int
    Candidates: string list
    Index: int
    /// The line as the last completion left it: any other edit ends the cycle.
    Left: Editor
}

let private sorted (xs: string seq) =
    xs
    |> Seq.distinct
    |> Seq.sortWith (fun a b -> String.CompareOrdinal(a, b))
    |> List.ofSeq

let private matching (prefix: string) (xs: string seq) =
    xs
    |> Seq.filter (fun x -> x.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
    |> sorted

/// The candidates for the word from `start` to the cursor, each with what follows it once completed.
let candidates (names: Names) (e: Editor) (start: int) : string list =
    let word = e.Text.Substring(start, e.Cursor - start)
    let before = e.Text.Substring(0, start).Trim()

    let first =
        before.Split(' ', StringSplitOptions.RemoveEmptyEntries) |> Array.tryHead

    let rooms = names.Rooms |> List.map (fun r -> "#" + r)

    match first with
    | None when word.StartsWith '/' -> matching word commands |> List.map (fun c -> c + " ")
    // irssi's habit: a name at the start of a line is an address.
    | None -> matching word names.Users |> List.map (fun u -> u + ": ")
    | Some cmd when cmd.Equals("/join", StringComparison.OrdinalIgnoreCase) && before = cmd ->
        let bare = word.TrimStart '#'
        matching bare names.Rooms |> List.map (fun r -> r + " ")
    | Some cmd when
        (cmd.Equals("/msg", StringComparison.OrdinalIgnoreCase)
         || cmd.Equals("/query", StringComparison.OrdinalIgnoreCase))
        && before = cmd
        ->
        matching word names.Users |> List.map (fun u -> u + " ")
    | _ when word.StartsWith '#' -> matching word rooms |> List.map (fun r -> r + " ")
    | _ -> matching word names.Users |> List.map (fun u -> u + " ")

/// Tab: the next candidate when `cycle` is still the line's, else a new completion; None when nothing matches.
let tab (names: Names) (cycle: Cycle option) (e: Editor) : (Editor * Cycle) option =
    match cycle with
    | Some c when c.Left = e && c.Candidates.Length > 1 ->
        let index = (c.Index + 1) % c.Candidates.Length
        let next = replaceBefore c.Start c.Candidates[index] e
        Some(next, { c with Index = index; Left = next })
    | Some c when c.Left = e -> None
    | _ ->
        let start =
            match e.Text.LastIndexOf(' ', max 0 (e.Cursor - 1)) with
            | _ when e.Cursor = 0 -> 0
            | -1 -> 0
            | i -> i + 1

        match candidates names e start with
        | [] -> None
        | first :: _ as all ->
            let next = replaceBefore start first e

            Some(
                next,
                {
                    Start = start
                    Candidates = all
                    Index = 0
                    Left = next
                }
            )
