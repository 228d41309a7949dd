module Chat.Client.Program
[<EntryPoint>]
let main _ = 0
