using System.Text.Json.Nodes;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Api.Tables;

/// <summary>The cells of one table row, and the row conditions the pod printer adds for finished pods.</summary>
internal sealed record PrintedRow(IReadOnlyList<JsonNode?> Cells, JsonArray? Conditions = null);

/// <summary>A resource's columns and the function that prints one object into a row of them.</summary>
internal sealed record ResourcePrinter(IReadOnlyList<TableColumn> Columns, Func<JsonObject, DateTimeOffset, PrintedRow> Print);
