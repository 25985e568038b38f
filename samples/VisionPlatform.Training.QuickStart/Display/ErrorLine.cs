namespace VisionPlatform.Training.QuickStart.Display;

/// <summary>A failure is reported as exactly one line on stderr, whatever characters a value contains.</summary>
internal static class ErrorLine
{
    public static void Write(TextWriter error, string message)
    {
        var oneLine = string.Concat(message.Select(c => c switch
        {
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            _ when char.IsControl(c) => $"\\u{(int)c:x4}",
            _ => c.ToString(),
        }));
        error.WriteLine(oneLine);
    }
}
