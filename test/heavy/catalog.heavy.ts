/**
 * The catalog recipes (embeddings, summarization, whisper-transcription) installed and called for
 * real: their envs hold PyTorch (gigabytes from the package registry, so `npm run test:heavy`
 * only). embeddings runs on the model its package ships; summarization and whisper run on tiny
 * models this test builds and serves from a loopback server (a fake Hub for the model prefetch, a
 * plain URL + sha256 for whisper's checkpoint), since none is packaged. Each prints its figures:
 * install time, cold start, first and warm call, RSS.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import type { ManagerEvent } from '../../src/index.js';
import { readRecipe } from '../../src/recipes/catalog.js';
import { recordEvents, tempDir } from '../helpers.js';
import { fakeHub, type InstallFixture, installFixture, sha256Of, startServer } from '../install-helpers.js';

const CATALOG = join(import.meta.dirname, '..', '..', 'recipes', 'catalog');
const COMMIT = 'feedc0de00000000000000000000000000000001';

/** A copy of a catalog recipe with recipe.json edited (a test model instead of the real one). */
function copyRecipe(
  name: string,
  edit: (manifest: Record<string, unknown>) => void = () => undefined,
): string {
  const dir = join(tempDir('pk-heavy-'), name);
  cpSync(join(CATALOG, name), dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'recipe.json'), 'utf8')) as Record<string, unknown>;
  edit(manifest);
  writeFileSync(join(dir, 'recipe.json'), JSON.stringify(manifest, null, 2));
  return dir;
}

/** Runs a Python script in the env the recipe will get (built now, reused by the install). */
async function inRecipeEnv(
  fx: InstallFixture,
  dir: string,
  script: string,
  ...args: string[]
): Promise<string> {
  const env = await fx.manager.prepareEnv(await readRecipe(dir));
  return execFileSync(env.executable, ['-c', script, ...args], { encoding: 'utf8', timeout: 600_000 });
}

interface Figures {
  recipe: string;
  installS: number;
  smokeReadyMs: number;
  coldStartMs: number;
  firstCallMs: number;
  warmCallMs: number;
  rssMB: number | null;
}

async function measure(
  fx: InstallFixture,
  name: string,
  source: string,
  input: unknown,
): Promise<{ first: unknown; figures: Figures }> {
  const events: ManagerEvent[] = recordEvents(fx.manager);
  let started = performance.now();
  await fx.install(source);
  const installS = Math.round((performance.now() - started) / 100) / 10;
  const smoke = fx.progress.find((e) => e.step === 'smoke' && e.progress === 1)?.message ?? '';
  started = performance.now();
  const first = await fx.manager.call(name, input);
  const firstCallMs = Math.round(performance.now() - started);
  const warm: number[] = [];
  for (let i = 0; i < 5; i++) {
    started = performance.now();
    await fx.manager.call(name, input);
    warm.push(performance.now() - started);
  }
  warm.sort((a, b) => a - b);
  const ready = events.find((e) => e.event === 'pod.ready' && e.recipe === name) as
    | { spawnToReadyMs: number }
    | undefined;
  const [pod] = await fx.manager.list();
  const figures: Figures = {
    recipe: name,
    installS,
    smokeReadyMs: Number(/ready in (\d+) ms/.exec(smoke)?.[1] ?? Number.NaN),
    coldStartMs: ready?.spawnToReadyMs ?? Number.NaN,
    firstCallMs,
    warmCallMs: Math.round((warm[2] ?? Number.NaN) * 10) / 10,
    rssMB: pod?.rssMB ?? null,
  };
  console.log(`FIGURES ${JSON.stringify(figures)}`);
  return { first, figures };
}

describe('catalog recipes on PyTorch', () => {
  it('embeddings: the packaged all-MiniLM-L6-v2, offline', async () => {
    const fx = installFixture();
    const { first } = await measure(fx, 'embeddings', join(CATALOG, 'embeddings'), {
      text: 'podkeeper runs pods',
    });
    expect(first).toMatchObject({ dimensions: 384 });
    const { scores } = (await fx.manager.call(
      'embeddings',
      { a: 'A man is eating food.', b: ['A man is eating a piece of bread.', 'A man is riding a horse.'] },
      { action: 'similarity' },
    )) as { scores: number[] };
    expect(scores[0]).toBeGreaterThan(scores[1] ?? 1);
  });

  it('summarization: a tiny BART built here, prefetched from a fake Hub at a pinned commit', async () => {
    const server = await startServer();
    const fx = installFixture({ env: { HF_ENDPOINT: server.url } });
    const dir = copyRecipe('summarization', (manifest) => {
      manifest['model'] = 'acme/tiny-bart';
      manifest['revision'] = COMMIT;
    });
    const out = tempDir('pk-tiny-bart-');
    await inRecipeEnv(fx, dir, TINY_BART, out);
    const files: Record<string, Buffer> = {};
    for (const file of listFiles(out)) files[relative(out, file)] = readFileSync(file);
    fakeHub(server, 'acme/tiny-bart', { commit: COMMIT, files });
    const { first } = await measure(fx, 'summarization', dir, {
      text: 'The cat sat on the mat. The dog slept by the door. Everyone was happy that day.',
      minLength: 2,
      maxLength: 12,
    });
    expect(typeof (first as { summary: unknown }).summary).toBe('string');
    expect(server.hits.some((hit) => hit.startsWith(`GET /acme/tiny-bart/resolve/${COMMIT}/`))).toBe(true);
  });

  it('whisper-transcription: a tiny Whisper checkpoint built here, fetched as a `files` entry by sha256', async () => {
    const server = await startServer();
    const fx = installFixture();
    let ffmpeg = true;
    try {
      execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' });
    } catch {
      ffmpeg = false;
    }
    const checkpoint = join(tempDir('pk-tiny-whisper-'), 'tiny.pt');
    const draft = copyRecipe('whisper-transcription', (manifest) => {
      if (!ffmpeg) manifest['systemDependencies'] = [];
      manifest['files'] = [];
    });
    await inRecipeEnv(fx, draft, TINY_WHISPER, checkpoint);
    server.file('/tiny.pt', readFileSync(checkpoint));
    const dir = copyRecipe('whisper-transcription', (manifest) => {
      if (!ffmpeg) manifest['systemDependencies'] = [];
      manifest['files'] = [
        { path: 'models/base.pt', url: `${server.url}/tiny.pt`, sha256: sha256Of(checkpoint) },
      ];
    });
    const { first } = await measure(fx, 'whisper-transcription', dir, { wav: sineWav(), language: 'en' });
    expect(first).toMatchObject({ language: 'en', text: expect.any(String) });
  });
});

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

/** One second of a 440 Hz tone, 16 kHz 16-bit mono WAV, base64. */
function sineWav(): string {
  const rate = 16_000;
  const samples = Buffer.alloc(rate * 2);
  for (let i = 0; i < rate; i++)
    samples.writeInt16LE(Math.round(Math.sin((2 * Math.PI * 440 * i) / rate) * 8000), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + samples.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(samples.length, 40);
  return Buffer.concat([header, samples]).toString('base64');
}

const TINY_BART = `
import sys
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import BartConfig, BartForConditionalGeneration, PreTrainedTokenizerFast

out = sys.argv[1]
corpus = ["the cat sat on the mat", "the dog slept by the door", "everyone was happy that day"] * 20
tok = Tokenizer(models.BPE(unk_token="<unk>"))
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
special = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=400, special_tokens=special,
                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                               unk_token="<unk>", mask_token="<mask>", model_max_length=256)
fast.save_pretrained(out)
config = BartConfig(vocab_size=tok.get_vocab_size(), d_model=32, encoder_layers=1, decoder_layers=1,
                    encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
                    max_position_embeddings=256, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                    decoder_start_token_id=2, forced_bos_token_id=0)
BartForConditionalGeneration(config).save_pretrained(out)
`;

const TINY_WHISPER = `
import sys
import torch
from whisper.model import ModelDimensions, Whisper

dims = ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=2, n_audio_layer=1,
                       n_vocab=51865, n_text_ctx=448, n_text_state=64, n_text_head=2, n_text_layer=1)
torch.manual_seed(0)
model = Whisper(dims)
# Whisper leaves some parameters uninitialised (torch.empty): give every one finite values.
with torch.no_grad():
    for parameter in model.parameters():
        parameter.normal_(0.0, 0.02)
torch.save({"dims": dims.__dict__, "model_state_dict": model.state_dict()}, sys.argv[1])
`;
