/// Rows of cases as Expecto tests, one test per row named by the row as F# would spell it; and how
/// many cases a property tries. Chat.Client.Tests compiles this file too.
module Chat.Tests.Cases

open System
open Microsoft.FSharp.Reflection
open Expecto

let private escape (s: string) =
    s
    |> Seq.map (fun c ->
        match c with
        | '"' -> "\\\""
        | '\\' -> "\\\\"
        | '\t' -> "\\t"
        | '\r' -> "\\r"
        | '\n' -> "\\n"
        | c when Char.IsControl c -> $"\\u%04x{int c}"
        | c -> string c)
    |> String.concat ""

/// A case value as F# source spells it. Control characters are escaped: a row's name is printed
/// and filtered on, and some rows are there precisely because they hold ESC or NUL.
let rec literal (value: obj) =
    match value with
    | null -> "null"
    | :? string as s -> "\"" + escape s + "\""
    | :? char as c -> "'" + escape (string c) + "'"
    | :? bool as b -> if b then "true" else "false"
    | v when FSharpType.IsTuple(v.GetType()) ->
        "("
        + (FSharpValue.GetTupleFields v |> Array.map literal |> String.concat ", ")
        + ")"
    | v -> string v

/// A list `name` with one test per row, named by the row: `name/"alice"`.
let testCases name (rows: 'row list) (test: 'row -> unit) =
    testList name [ for row in rows -> testCase (literal (box row)) (fun () -> test row) ]

/// Expecto's FsCheck settings with `n` cases a property instead of 100.
let maxTest n = {
    FsCheckConfig.defaultConfig with
        maxTest = n
}
