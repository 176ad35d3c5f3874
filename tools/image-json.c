// SPDX-License-Identifier: GPL-2.0-or-later
/* The JSON form of an image, shared by load, images and inspect. */
#include <json-c/json.h>
#include <stdlib.h>

#include "lc.h"

json_object *lc_image_json(struct ls_store *s, const struct ls_image *img)
{
	json_object *o = json_object_new_object();
	json_object *layers = json_object_new_array();

	json_object_object_add(o, "ref",
			       json_object_new_string(img->ref ? img->ref :
								 ""));
	json_object_object_add(o, "manifest",
			       json_object_new_string(img->manifest));
	json_object_object_add(o, "config",
			       json_object_new_string(img->config));
	json_object_object_add(o, "size", json_object_new_int64(img->size));
	for (size_t i = 0; i < img->nlayers; i++) {
		json_object *l = json_object_new_object();
		char *path = ls_layer_path(s, img->diff_ids[i]);

		json_object_object_add(l, "diff_id",
				       json_object_new_string(
					       img->diff_ids[i]));
		json_object_object_add(l, "blob",
				       json_object_new_string(img->blobs[i]));
		json_object_object_add(l, "path",
				       json_object_new_string(path ? path :
								     ""));
		free(path);
		json_object_array_add(layers, l);
	}
	json_object_object_add(o, "layers", layers);
	return o;
}

void lc_print_json(json_object *o)
{
	puts(json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}
