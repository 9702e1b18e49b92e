#include "mime/mime_decode.h"
