#include "audience/audience_reader.h"
