/// One received line, from bytes to text, with the framing rules of chat/1.
module Chat.Domain.Framing

open System
open System.Text

/// Why a received line was refused before parsing.
type FrameError =
    | TooLong of limit: int
    | NotUtf8
    | ControlCharacters

let private strictUtf8 = UTF8Encoding(false, true)

/// Decodes a line without its `\n`; a trailing `\r` is dropped.
let decode (line: ReadOnlySpan<byte>) : Result<string, FrameError> =
    let line =
        if line.Length > 0 && line[line.Length - 1] = 13uy then
            line.Slice(0, line.Length - 1)
        else
            line

    let text =
        try
            ValueSome(strictUtf8.GetString line)
        with :? DecoderFallbackException ->
            ValueNone

    match text with
    | ValueNone -> Error NotUtf8
    | ValueSome s when LineText.hasForbidden s -> Error ControlCharacters
    | ValueSome s -> Result.Ok s

/// The reply for a refused line; the connection goes on.
let reply (error: FrameError) : ServerMsg =
    match error with
    | TooLong limit -> Err(LineTooLong, $"lines are limited to {limit} bytes; the line was discarded")
    | NotUtf8 -> Err(BadEncoding, "lines must be UTF-8 text; the line was discarded")
    | ControlCharacters -> Err(BadArgumentCode, "control characters are not allowed; nothing was delivered")
