/**
 * Fields of a Hugging Face `config.json`, read the way transformers reads composite
 * vision-language configs (one reader for every family, backend and check).
 *
 * transformers builds the text model's config from `text_config` when the file has one, and only
 * from the top-level keys when it has none (`Qwen2VLConfig.__init__`: "For BC use all kwargs to
 * init TextConfig" only when `text_config is None`, models/qwen2_vl/configuration_qwen2_vl.py;
 * `LlavaConfig` the same with `CONFIG_MAPPING[text_config["model_type"]]`). Token ids of the
 * composite model (`image_token_id`, `vision_start_token_id` ...) are top-level attributes.
 */
export interface ConfigFields {
  /** A text-model field: `text_config[key]` when the config has `text_config` and the key, else the top-level `key`. */
  text(key: string): unknown;
  /** A composite-model field: the top-level `key`, else `text_config[key]` (older exports nest a few ids). */
  top(key: string): unknown;
  /** `text(key)` when it is a finite number. */
  textNumber(key: string): number | undefined;
  /** `top(key)` when it is a finite number. */
  topNumber(key: string): number | undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * The reader of a `config.json` object. A text field missing from `text_config` falls back to the
 * top level (transformers would use the text model's default there; a file that has the field at
 * the top only is read rather than refused).
 */
export function configFields(config: Record<string, unknown>): ConfigFields {
  const nested = isRecord(config['text_config']) ? config['text_config'] : undefined;
  const text = (key: string): unknown => (nested && nested[key] !== undefined ? nested[key] : config[key]);
  const top = (key: string): unknown => (config[key] !== undefined ? config[key] : nested?.[key]);
  return { text, top, textNumber: (key) => finite(text(key)), topNumber: (key) => finite(top(key)) };
}
