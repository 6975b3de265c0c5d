/*
 * Stand-in for miniaudio.h, written for this project.
 *
 * The Ollama module zip drops llama.cpp's vendor directory, and miniaudio has
 * no Debian package. llama.cpp's tools/mtmd/mtmd-helper.cpp only decodes
 * audio inputs for multimodal audio models, which our tests never use, so this
 * header declares just what that file calls and makes every decode fail
 * (the caller then reports "Unable to read WAV audio file" and returns).
 */
#ifndef AICHAT_MINIAUDIO_STUB_H
#define AICHAT_MINIAUDIO_STUB_H

#include <stddef.h>
#include <stdint.h>

#ifndef MA_API
#define MA_API static
#endif

typedef int ma_result;
typedef uint32_t ma_uint32;
typedef uint64_t ma_uint64;

#define MA_SUCCESS 0
#define MA_NOT_IMPLEMENTED (-29)

typedef enum { ma_format_unknown = 0, ma_format_f32 = 5 } ma_format;
typedef enum { ma_encoding_format_unknown = 0, ma_encoding_format_wav = 1 } ma_encoding_format;

typedef struct {
	ma_format format;
	ma_uint32 channels;
	ma_uint32 sampleRate;
} ma_decoder_config;

typedef struct {
	ma_decoder_config config;
} ma_decoder;

typedef struct {
	ma_encoding_format encodingFormat;
	ma_format format;
	ma_uint32 channels;
	ma_uint32 sampleRate;
} ma_encoder_config;

typedef struct {
	ma_encoder_config config;
} ma_encoder;

MA_API ma_decoder_config ma_decoder_config_init(ma_format format, ma_uint32 channels, ma_uint32 sampleRate) {
	ma_decoder_config c;
	c.format = format;
	c.channels = channels;
	c.sampleRate = sampleRate;
	return c;
}

MA_API ma_result ma_decoder_init_memory(const void *data, size_t size, const ma_decoder_config *config, ma_decoder *decoder) {
	(void)data;
	(void)size;
	(void)config;
	(void)decoder;
	return MA_NOT_IMPLEMENTED;
}

MA_API ma_result ma_decoder_get_length_in_pcm_frames(ma_decoder *decoder, ma_uint64 *length) {
	(void)decoder;
	if (length) *length = 0;
	return MA_NOT_IMPLEMENTED;
}

MA_API ma_result ma_decoder_read_pcm_frames(ma_decoder *decoder, void *frames, ma_uint64 count, ma_uint64 *read) {
	(void)decoder;
	(void)frames;
	(void)count;
	if (read) *read = 0;
	return MA_NOT_IMPLEMENTED;
}

MA_API ma_result ma_decoder_uninit(ma_decoder *decoder) {
	(void)decoder;
	return MA_SUCCESS;
}

/* The encoder is used only when MTMD_AUDIO_DEBUG is defined (which leaves
 * MA_NO_ENCODING undefined), as in the real header. */
#ifndef MA_NO_ENCODING
MA_API ma_encoder_config ma_encoder_config_init(ma_encoding_format encodingFormat, ma_format format, ma_uint32 channels, ma_uint32 sampleRate) {
	ma_encoder_config c;
	c.encodingFormat = encodingFormat;
	c.format = format;
	c.channels = channels;
	c.sampleRate = sampleRate;
	return c;
}

MA_API ma_result ma_encoder_init_file(const char *path, const ma_encoder_config *config, ma_encoder *encoder) {
	(void)path;
	(void)config;
	(void)encoder;
	return MA_NOT_IMPLEMENTED;
}

MA_API ma_result ma_encoder_write_pcm_frames(ma_encoder *encoder, const void *frames, ma_uint64 count, ma_uint64 *written) {
	(void)encoder;
	(void)frames;
	(void)count;
	if (written) *written = 0;
	return MA_NOT_IMPLEMENTED;
}

MA_API void ma_encoder_uninit(ma_encoder *encoder) {
	(void)encoder;
}
#endif /* MA_NO_ENCODING */

#endif /* AICHAT_MINIAUDIO_STUB_H */
