/**
 * The server's OpenTelemetry metrics: one MeterProvider per Gatehouse instance (so two
 * instances in one process — tests — never mix their figures), read three ways:
 * - in process (`collect`, `sum`): tests and the benchmarks read the meters themselves;
 * - a Prometheus scrape endpoint on a listener of its own (`METRICS_PORT`, `METRICS_HOST`;
 *   off by default, refused on the public port), `GET /metrics`;
 * - OTLP, pushed every `OTEL_METRIC_EXPORT_INTERVAL` ms (default 60 s) when the standard
 *   variables ask for it: `OTEL_METRICS_EXPORTER=otlp`, or, with that unset, an
 *   `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`. The protocol is
 *   `OTEL_EXPORTER_OTLP_METRICS_PROTOCOL` or `OTEL_EXPORTER_OTLP_PROTOCOL`
 *   (`http/protobuf` by default, `http/json`, `grpc`); endpoint and headers as the
 *   exporters read them.
 * The instruments themselves belong to the parts that record them (each takes a Meter).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Meter } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import {
  defaultResource,
  detectResources,
  resourceAttributesEnvDetector,
  serviceNameEnvDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import {
  DataPointType,
  MeterProvider,
  MetricReader,
  PeriodicExportingMetricReader,
  type IMetricReader,
  type MetricData,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import type { Logger } from './logger.js';

export const METER_NAME = 'gatehouse';

/** A value a data point's attribute is compared with (`sum`). */
type Wanted = string | number | boolean;

type Env = Readonly<Record<string, string | undefined>>;

export interface MetricsOptions {
  /** The scrape listener, or none. */
  readonly prometheus: { readonly host: string; readonly port: number } | undefined;
  /** The environment (OTEL_* variables). */
  readonly env: Env;
  readonly logger: Logger;
}

/** A reader the server itself collects from. */
class InProcessReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }

  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** Whether the standard variables ask for OTLP metrics (see the file's header). */
export function otlpMetricsWanted(env: Env): boolean {
  if ((env['OTEL_SDK_DISABLED'] ?? '').trim().toLowerCase() === 'true') return false;
  const exporters = (env['OTEL_METRICS_EXPORTER'] ?? '').trim();
  if (exporters !== '') return exporters.split(',').some((e) => e.trim() === 'otlp');
  return Boolean(env['OTEL_EXPORTER_OTLP_ENDPOINT'] || env['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT']);
}

async function otlpExporter(env: Env): Promise<PushMetricExporter> {
  const protocol =
    env['OTEL_EXPORTER_OTLP_METRICS_PROTOCOL'] ?? env['OTEL_EXPORTER_OTLP_PROTOCOL'] ?? '';
  switch (protocol.trim() || 'http/protobuf') {
    case 'grpc':
      return new (await import('@opentelemetry/exporter-metrics-otlp-grpc')).OTLPMetricExporter();
    case 'http/json':
      return new (await import('@opentelemetry/exporter-metrics-otlp-http')).OTLPMetricExporter();
    case 'http/protobuf':
      return new (await import('@opentelemetry/exporter-metrics-otlp-proto')).OTLPMetricExporter();
    default:
      throw new Error(`unsupported OTLP protocol ${JSON.stringify(protocol)}`);
  }
}

export class Metrics {
  readonly meter: Meter;
  readonly #provider: MeterProvider;
  readonly #reader: InProcessReader;
  readonly #scrape: http.Server | undefined;
  #scrapeUrl: string | undefined;

  private constructor(
    provider: MeterProvider,
    reader: InProcessReader,
    scrape: http.Server | undefined,
  ) {
    this.#provider = provider;
    this.#reader = reader;
    this.#scrape = scrape;
    this.meter = provider.getMeter(METER_NAME);
  }

  static async open(options: MetricsOptions): Promise<Metrics> {
    const reader = new InProcessReader();
    const readers: IMetricReader[] = [reader];
    let prometheus: PrometheusExporter | undefined;
    if (options.prometheus) {
      prometheus = new PrometheusExporter({ preventServerStart: true });
      readers.push(prometheus);
    }
    if (otlpMetricsWanted(options.env)) {
      const interval = Number(options.env['OTEL_METRIC_EXPORT_INTERVAL'] ?? '60000');
      readers.push(
        new PeriodicExportingMetricReader({
          exporter: await otlpExporter(options.env),
          exportIntervalMillis: Number.isFinite(interval) && interval > 0 ? interval : 60_000,
        }),
      );
    }
    const provider = new MeterProvider({
      // As the traces' resource: the SDK's defaults, `gatehouse`, then what
      // OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME say.
      resource: defaultResource()
        .merge(resourceFromAttributes({ 'service.name': 'gatehouse' }))
        .merge(
          detectResources({ detectors: [resourceAttributesEnvDetector, serviceNameEnvDetector] }),
        ),
      readers,
    });
    let scrape: http.Server | undefined;
    if (prometheus && options.prometheus) {
      const exporter = prometheus;
      scrape = http.createServer((req, res) => {
        const path = (req.url ?? '/').split('?')[0];
        if (path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) {
          exporter.getMetricsRequestHandler(req, res);
          return;
        }
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('Not found: the metrics are at /metrics\n');
      });
      const { host, port } = options.prometheus;
      await new Promise<void>((resolve, reject) => {
        scrape?.once('error', reject);
        scrape?.listen(port, host, () => resolve());
      });
    }
    const metrics = new Metrics(provider, reader, scrape);
    if (scrape) {
      const address = scrape.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      metrics.#scrapeUrl = `http://${host}:${address.port}/metrics`;
      options.logger.info('metrics scrape endpoint listening', { url: metrics.#scrapeUrl });
    }
    return metrics;
  }

  /** `http://host:port/metrics` when the scrape endpoint listens. */
  get scrapeUrl(): string | undefined {
    return this.#scrapeUrl;
  }

  /** Every metric as it stands now (observable instruments are read for it). */
  async collect(): Promise<MetricData[]> {
    const { resourceMetrics } = await this.#reader.collect();
    return resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
  }

  /**
   * The total of metric `name` over the data points whose attributes match `attributes`
   * (an array value: any of those values): a sum's value, a gauge's value, a histogram's
   * count of measurements. 0 when none. One collection.
   */
  async sum(
    name: string,
    attributes: Readonly<Record<string, Wanted | readonly Wanted[]>> = {},
  ): Promise<number> {
    const wanted = Object.entries(attributes);
    const matches = (actual: unknown, value: Wanted | readonly Wanted[]): boolean =>
      typeof value === 'object' ? value.some((v) => v === actual) : actual === value;
    let total = 0;
    for (const metric of await this.collect()) {
      if (metric.descriptor.name !== name) continue;
      for (const point of metric.dataPoints) {
        if (!wanted.every(([k, v]) => matches(point.attributes[k], v))) continue;
        const value = point.value as number | { count: number };
        total +=
          metric.dataPointType === DataPointType.HISTOGRAM
            ? (value as { count: number }).count
            : (value as number);
      }
    }
    return total;
  }

  /** Exports what is pending (OTLP) and stops every reader and the scrape listener. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (!this.#scrape) resolve();
      else this.#scrape.close(() => resolve());
      this.#scrape?.closeAllConnections();
    });
    await this.#provider.shutdown();
  }
}
