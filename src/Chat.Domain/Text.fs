namespace Chat.Domain

open System

/// Rules for the text of one line, applied once at the edge before any command sees it.
module LineText =
    /// C0 controls other than TAB, DEL and C1 controls: they could drive other users' terminals.
    let isForbidden (c: char) =
        (c < ' ' && c <> '\t') || (c >= '\u007f' && c <= '\u009f')

    let hasForbidden (s: string) = s |> String.exists isForbidden

    /// Whitespace-only lines count as empty: nothing a user would want to send to a room.
    let isBlank (s: string) = String.IsNullOrWhiteSpace s
