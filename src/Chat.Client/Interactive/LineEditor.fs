/// The input line: its text and where the cursor is, and the editing keys of a shell (readline's defaults).
/// Pure; the cursor never splits a surrogate pair.
module Chat.Client.LineEditor

open System

type Editor = {
    Text: string
    /// An index into Text, 0 to Text.Length.
    Cursor: int
}

let empty = { Text = ""; Cursor = 0 }

let ofText (text: string) = { Text = text; Cursor = text.Length }

/// How many UTF-16 units the character before (or at) `i` takes: 2 for a surrogate pair.
let private widthBefore (s: string) (i: int) =
    if i >= 2 && Char.IsSurrogatePair(s[i - 2], s[i - 1]) then
        2
    else
        1

let private widthAt (s: string) (i: int) =
    if i + 1 < s.Length && Char.IsSurrogatePair(s[i], s[i + 1]) then
        2
    else
        1

/// Typed text (a character, or a paste) at the cursor; control characters never enter the line.
let insert (typed: string) (e: Editor) =
    let clean =
        String(typed |> Seq.filter (fun c -> not (Char.IsControl c)) |> Array.ofSeq)

    {
        Text = e.Text.Insert(e.Cursor, clean)
        Cursor = e.Cursor + clean.Length
    }

let left (e: Editor) =
    if e.Cursor = 0 then
        e
    else
        {
            e with
                Cursor = e.Cursor - widthBefore e.Text e.Cursor
        }

let right (e: Editor) =
    if e.Cursor >= e.Text.Length then
        e
    else
        {
            e with
                Cursor = e.Cursor + widthAt e.Text e.Cursor
        }

let home (e: Editor) = { e with Cursor = 0 }
let end' (e: Editor) = { e with Cursor = e.Text.Length }

let backspace (e: Editor) =
    if e.Cursor = 0 then
        e
    else
        let n = widthBefore e.Text e.Cursor

        {
            Text = e.Text.Remove(e.Cursor - n, n)
            Cursor = e.Cursor - n
        }

let delete (e: Editor) =
    if e.Cursor >= e.Text.Length then
        e
    else
        {
            e with
                Text = e.Text.Remove(e.Cursor, widthAt e.Text e.Cursor)
        }

/// Ctrl-U.
let killToStart (e: Editor) = {
    Text = e.Text.Substring e.Cursor
    Cursor = 0
}

/// Ctrl-K.
let killToEnd (e: Editor) = {
    e with
        Text = e.Text.Substring(0, e.Cursor)
}

/// Where the word before the cursor starts: spaces before the cursor skipped, then the word.
let wordStart (e: Editor) =
    let mutable i = e.Cursor

    while i > 0 && e.Text[i - 1] = ' ' do
        i <- i - 1

    while i > 0 && e.Text[i - 1] <> ' ' do
        i <- i - 1

    i

/// Ctrl-W: the word before the cursor.
let killWord (e: Editor) =
    let start = wordStart e

    {
        Text = e.Text.Remove(start, e.Cursor - start)
        Cursor = start
    }

/// Replaces Text[start, Cursor) with `text`, the cursor after it: what completion does.
let replaceBefore (start: int) (text: string) (e: Editor) =
    let start = max 0 (min start e.Cursor)

    {
        Text = e.Text.Substring(0, start) + text + e.Text.Substring e.Cursor
        Cursor = start + text.Length
    }
