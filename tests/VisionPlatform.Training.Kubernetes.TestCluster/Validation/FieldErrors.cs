using System.Globalization;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Validation;

/// <summary>
/// An apimachinery field.ErrorList: errors with a path, a type and a body written exactly as
/// <c>field.Error.ErrorBody()</c> writes it (strings quoted, numbers bare).
/// </summary>
public sealed class FieldErrors
{
    private readonly List<StatusCause> _causes = [];

    /// <summary>The errors so far.</summary>
    public IReadOnlyList<StatusCause> Causes => _causes;

    /// <summary>True when there is at least one error.</summary>
    public bool Any => _causes.Count > 0;

    /// <summary>FieldValueRequired.</summary>
    public void Required(string path, string detail = "") =>
        Add("FieldValueRequired", "Required value", detail, path);

    /// <summary>FieldValueInvalid with a string value (quoted).</summary>
    public void Invalid(string path, string? value, string detail) =>
        Add("FieldValueInvalid", $"Invalid value: {Quote(value ?? "")}", detail, path);

    /// <summary>FieldValueInvalid with a number (bare).</summary>
    public void Invalid(string path, long value, string detail) =>
        Add("FieldValueInvalid", "Invalid value: " + value.ToString(CultureInfo.InvariantCulture), detail, path);

    /// <summary>FieldValueInvalid with a value already formatted.</summary>
    public void InvalidRaw(string path, string formattedValue, string detail) =>
        Add("FieldValueInvalid", "Invalid value: " + formattedValue, detail, path);

    /// <summary>FieldValueNotSupported: <c>Unsupported value: "x": supported values: "a", "b"</c>.</summary>
    public void NotSupported(string path, string value, params string[] supported) =>
        Add("FieldValueNotSupported", $"Unsupported value: {Quote(value)}",
            supported.Length == 0 ? "" : "supported values: " + string.Join(", ", supported.Select(Quote)), path);

    /// <summary>FieldValueDuplicate.</summary>
    public void Duplicate(string path, string value) =>
        Add("FieldValueDuplicate", $"Duplicate value: {Quote(value)}", "", path);

    /// <summary>FieldValueNotFound.</summary>
    public void NotFound(string path, string value) =>
        Add("FieldValueNotFound", $"Not found: {Quote(value)}", "", path);

    /// <summary>FieldValueForbidden.</summary>
    public void Forbidden(string path, string detail) =>
        Add("FieldValueForbidden", "Forbidden", detail, path);

    /// <summary>FieldValueTooLong: <c>Too long: may not be more than N bytes</c>.</summary>
    public void TooLongBytes(string path, long max) =>
        Add("FieldValueTooLong", $"Too long: may not be more than {max.ToString(CultureInfo.InvariantCulture)} bytes", "", path);

    /// <summary>FieldValueTooLong with a free-form body after "Too long: ".</summary>
    public void TooLong(string path, string detail) =>
        Add("FieldValueTooLong", "Too long", detail, path);

    /// <summary>FieldValueTooMany: <c>Too many: N: must have at most M items</c>.</summary>
    public void TooMany(string path, int actual, int max) =>
        Add("FieldValueTooMany", $"Too many: {actual.ToString(CultureInfo.InvariantCulture)}",
            $"must have at most {max.ToString(CultureInfo.InvariantCulture)} items", path);

    /// <summary>Adds a number of errors from a name rule as Invalid errors.</summary>
    public void InvalidEach(string path, string value, IEnumerable<string> details)
    {
        ArgumentNullException.ThrowIfNull(details);
        foreach (var detail in details)
        {
            Invalid(path, value, detail);
        }
    }

    /// <summary>Adds all errors of another list.</summary>
    public void AddRange(FieldErrors other)
    {
        ArgumentNullException.ThrowIfNull(other);
        _causes.AddRange(other._causes);
    }

    /// <summary>Throws 422 Invalid for <paramref name="type"/> when there are errors.</summary>
    public void ThrowIfAny(ResourceType type, string name)
    {
        if (Any)
        {
            throw StoreException.Invalid(type, name, _causes);
        }
    }

    /// <summary>Go's %q for a string.</summary>
    public static string Quote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var sb = new System.Text.StringBuilder("\"");
        foreach (var c in value)
        {
            sb.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\t' => "\\t",
                '\r' => "\\r",
                _ when c < ' ' => $"\\x{(int)c:x2}",
                _ => c.ToString(),
            });
        }

        return sb.Append('"').ToString();
    }

    private void Add(string reason, string head, string detail, string path) =>
        _causes.Add(new StatusCause(reason, detail.Length == 0 ? head : $"{head}: {detail}", path));
}
